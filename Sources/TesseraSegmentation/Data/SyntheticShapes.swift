import Foundation
import Tessera

/// The built-in dataset: ellipses, rectangles and triangles, filled or outlined (``Style``),
/// with blurred edges and noise on textured backgrounds, generated from a seed.
///
/// Binary masks mark every shape; with more classes, each shape kind is a class
/// (ellipse, rectangle, triangle; kinds share the last class when there are fewer).
/// Mask values are spread over 0…255 so that written masks are visible.
public enum SyntheticShapes {
    /// How the shapes are drawn; the mask always covers the whole shape.
    public enum Style: String, Codable, CaseIterable, Sendable {
        /// Filled with a brighter or darker striped texture: each pixel tells by its own
        /// gray level whether it belongs to a shape.
        case filled
        /// Only a thin outline is drawn; the inside looks like the background, so telling
        /// it apart takes context from the whole shape (as with cells bounded by membranes).
        case outlined
    }

    /// `count` gray images of `size`×`size` with their masks.
    public static func generate(count: Int, size: Int, classes: Int = 1, style: Style = .filled, seed: UInt64) -> SegmentationDataset {
        require(count > 0 && size >= 16 && classes >= 1, "SyntheticShapes: count \(count), size \(size), classes \(classes)")
        var generator = RandomGenerator(seed: seed)
        let samples = (0..<count).map { index in
            sample(name: String(format: "shape_%04ld.png", index), size: size, classes: classes, style: style, using: &generator)
        }
        return SegmentationDataset(samples: samples, mapping: mapping(classes: classes))
    }

    /// The mapping of the generated masks: binary, or classes written as evenly spread gray levels.
    public static func mapping(classes: Int) -> ClassMapping {
        classes == 1 ? .binary : ClassMapping(classes: classes, values: (0..<classes).map { $0 * 255 / (classes - 1) })
    }

    private static func sample(name: String, size: Int, classes: Int, style: Style, using generator: inout RandomGenerator) -> SegmentationSample {
        var pixels = [Float](repeating: 0, count: size * size)
        var labels = [Int32](repeating: 0, count: size * size)
        // Background: a base level, a slanted low-frequency wave and fine grain.
        let base = 0.3 + 0.2 * generator.nextUnitFloat()
        let angle = Float.pi * generator.nextUnitFloat(), frequency = 0.05 + 0.1 * generator.nextUnitFloat()
        for y in 0..<size {
            for x in 0..<size {
                let wave = sin(frequency * (Float(x) * cos(angle) + Float(y) * sin(angle)))
                pixels[y * size + x] = base + 0.08 * wave
            }
        }
        let shapeCount = 2 + Int(generator.nextUnitFloat() * 3)
        for _ in 0..<shapeCount {
            let kind = Int(generator.nextUnitFloat() * 3)
            let label = classes == 1 ? 1 : Int32(min(kind + 1, classes - 1))
            let radius = Float(size) * (0.08 + 0.12 * generator.nextUnitFloat())
            let centreX = Float(size) * (0.15 + 0.7 * generator.nextUnitFloat())
            let centreY = Float(size) * (0.15 + 0.7 * generator.nextUnitFloat())
            let aspect = 0.6 + 0.8 * generator.nextUnitFloat()
            let contrast = (generator.nextUnitFloat() < 0.5 ? -1 : 1) * (0.2 + 0.15 * generator.nextUnitFloat())
            let stripePeriod = 3 + 4 * generator.nextUnitFloat()
            // The outline is the band between the shape and the shape shrunk by 2 pixels.
            let inner = max(0, 1 - 2 / radius)
            for y in 0..<size {
                for x in 0..<size {
                    let dx = (Float(x) - centreX) / (radius * aspect), dy = (Float(y) - centreY) / radius
                    guard contains(kind: kind, dx, dy) else { continue }
                    labels[y * size + x] = label
                    if style == .outlined && contains(kind: kind, dx, dy, scale: inner) { continue }
                    let stripes = 0.05 * sin(Float(x + y) * 2 * Float.pi / stripePeriod)
                    pixels[y * size + x] = base + contrast + stripes
                }
            }
        }
        // Soften edges with a 3×3 box blur, then add noise.
        var blurred = pixels
        for y in 1..<(size - 1) {
            for x in 1..<(size - 1) {
                var total: Float = 0
                for oy in -1...1 { for ox in -1...1 { total += pixels[(y + oy) * size + x + ox] } }
                blurred[y * size + x] = total / 9
            }
        }
        for index in blurred.indices {
            blurred[index] = min(1, max(0, blurred[index] + 0.05 * generator.nextStandardNormal()))
        }
        return SegmentationSample(name: name, image: Tensor(shape: [1, size, size], scalars: blurred), labels: labels)
    }

    /// Whether the point `(dx, dy)`, in units of the shape's radius from its centre, lies
    /// in a shape of `kind` (ellipse, square or triangle) scaled by `scale` about its middle.
    private static func contains(kind: Int, _ dx: Float, _ dy: Float, scale: Float = 1) -> Bool {
        switch kind {
        case 0: return dx * dx + dy * dy <= scale * scale
        case 1: return abs(dx) <= 0.9 * scale && abs(dy) <= 0.9 * scale
        default:
            // The triangle spans dy ∈ [−1, 0.8]; its middle is at dy = −0.1.
            let x = dx / scale, y = (dy + 0.1) / scale - 0.1
            return y <= 0.8 && y >= -1 && abs(x) <= (y + 1) / 2
        }
    }
}
