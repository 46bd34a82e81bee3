import Foundation
import Tessera

/// The built-in dataset: ellipses, rectangles and triangles with blurred edges and noise
/// on textured backgrounds, generated from a seed.
///
/// Binary masks mark every shape; with more classes, each shape kind is a class
/// (ellipse, rectangle, triangle; kinds share the last class when there are fewer).
/// Mask values are spread over 0…255 so that written masks are visible.
public enum SyntheticShapes {
    /// `count` gray images of `size`×`size` with their masks.
    public static func generate(count: Int, size: Int, classes: Int = 1, seed: UInt64) -> SegmentationDataset {
        require(count > 0 && size >= 16 && classes >= 1, "SyntheticShapes: count \(count), size \(size), classes \(classes)")
        var generator = RandomGenerator(seed: seed)
        let samples = (0..<count).map { index in
            sample(name: String(format: "shape_%04d.png", index), size: size, classes: classes, using: &generator)
        }
        return SegmentationDataset(samples: samples, mapping: mapping(classes: classes))
    }

    /// The mapping of the generated masks: binary, or classes written as evenly spread gray levels.
    public static func mapping(classes: Int) -> ClassMapping {
        classes == 1 ? .binary : ClassMapping(classes: classes, values: (0..<classes).map { $0 * 255 / (classes - 1) })
    }

    private static func sample(name: String, size: Int, classes: Int, using generator: inout RandomGenerator) -> SegmentationSample {
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
            for y in 0..<size {
                for x in 0..<size {
                    let dx = (Float(x) - centreX) / (radius * aspect), dy = (Float(y) - centreY) / radius
                    let inside: Bool
                    switch kind {
                    case 0: inside = dx * dx + dy * dy <= 1
                    case 1: inside = abs(dx) <= 0.9 && abs(dy) <= 0.9
                    default: inside = dy <= 0.8 && dy >= -1 && abs(dx) <= (dy + 1) / 2
                    }
                    guard inside else { continue }
                    let stripes = 0.05 * sin(Float(x + y) * 2 * Float.pi / stripePeriod)
                    pixels[y * size + x] = base + contrast + stripes
                    labels[y * size + x] = label
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
}
