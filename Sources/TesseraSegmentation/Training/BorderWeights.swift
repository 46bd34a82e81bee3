import Foundation
import Tessera

/// The U-Net paper's weight map for binary masks:
/// `w(x) = w_c(x) + w0 · exp(−(d1(x) + d2(x))² / 2σ²)` on background pixels, where d1 and d2
/// are the distances to the nearest and second-nearest object (4-connected foreground
/// component) and `w_c` balances the two classes (`1 / (2 · frequency)`, mean 1). It
/// weights the cross-entropy so that the thin background between touching objects is
/// learned.
///
/// Computed from each training crop's mask after augmentation, so that it follows elastic
/// deformations exactly; an object only counts within `4σ` of a pixel (beyond, its term is
/// below `w0 · e⁻⁸`).
public struct BorderWeights: Sendable, Equatable {
    public let w0: Float, sigma: Float

    public init(w0: Float = 10, sigma: Float = 5) {
        require(w0 >= 0 && sigma > 0, "BorderWeights: needs w0 ≥ 0 and sigma > 0")
        (self.w0, self.sigma) = (w0, sigma)
    }

    /// The weight of every pixel of a `height`×`width` mask (row-major; 0 is background).
    public func map(labels: [Int32], height: Int, width: Int) -> [Float] {
        let count = labels.count
        let foreground = labels.reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
        let classWeight: (Bool) -> Float = { isForeground in
            let share = Float(isForeground ? foreground : count - foreground) / Float(max(count, 1))
            return share > 0 ? 1 / (2 * share) : 1
        }
        return zip(labels, gaps(labels: labels, height: height, width: width)).map { label, gap in
            guard label == 0, gap.isFinite else { return classWeight(label != 0) }
            return classWeight(false) + w0 * exp(-gap * gap / (2 * sigma * sigma))
        }
    }

    /// `d1 + d2` of every background pixel of a `height`×`width` mask: the width of the gap
    /// it lies in between its two nearest objects; infinity on objects, and where fewer than
    /// two objects are within `4σ`.
    public func gaps(labels: [Int32], height: Int, width: Int) -> [Float] {
        require(labels.count == height * width, "BorderWeights: \(labels.count) labels for \(height)×\(width)")
        return gaps(between: Self.components(labels: labels, height: height, width: width), labels: labels, width: width)
    }

    /// ``gaps(labels:height:width:)`` for `objects`, the mask's components, already found.
    func gaps(between objects: [Component], labels: [Int32], width: Int) -> [Float] {
        let count = labels.count, height = count / width
        var nearest = [Float](repeating: .infinity, count: count), second = nearest
        let reach = Int((4 * sigma).rounded(.up))
        for object in objects {
            let top = max(object.rows.lowerBound - reach, 0), bottom = min(object.rows.upperBound + reach, height)
            let left = max(object.columns.lowerBound - reach, 0), right = min(object.columns.upperBound + reach, width)
            let distances = Self.distances(
                to: object.pixels, top: top, left: left, height: bottom - top, width: right - left, imageWidth: width)
            for y in top..<bottom {
                for x in left..<right {
                    let pixel = y * width + x, d = distances[(y - top) * (right - left) + x - left]
                    if d < nearest[pixel] {
                        (second[pixel], nearest[pixel]) = (nearest[pixel], d)
                    } else if d < second[pixel] {
                        second[pixel] = d
                    }
                }
            }
        }
        return (0..<count).map { labels[$0] == 0 ? nearest[$0] + second[$0] : .infinity }
    }

    /// A connected component of the foreground: its pixels and bounding box.
    typealias Component = (pixels: [Int], rows: Range<Int>, columns: Range<Int>)

    /// The 4-connected components of the foreground.
    static func components(labels: [Int32], height: Int, width: Int) -> [Component] {
        var seen = [Bool](repeating: false, count: labels.count)
        var result: [(pixels: [Int], rows: Range<Int>, columns: Range<Int>)] = []
        for start in labels.indices where labels[start] != 0 && !seen[start] {
            var pixels = [start], next = 0
            seen[start] = true
            var (top, bottom, left, right) = (height, 0, width, 0)
            while next < pixels.count {
                let (y, x) = (pixels[next] / width, pixels[next] % width)
                next += 1
                (top, bottom, left, right) = (min(top, y), max(bottom, y + 1), min(left, x), max(right, x + 1))
                for (ny, nx) in [(y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)] where ny >= 0 && ny < height && nx >= 0 && nx < width {
                    let neighbour = ny * width + nx
                    if labels[neighbour] != 0 && !seen[neighbour] {
                        seen[neighbour] = true
                        pixels.append(neighbour)
                    }
                }
            }
            result.append((pixels, top..<bottom, left..<right))
        }
        return result
    }

    /// The Euclidean distance from every pixel of a window to the nearest of `pixels`
    /// (indices into the whole image, all inside the window): Felzenszwalb and
    /// Huttenlocher's exact transform, columns then rows.
    static func distances(to pixels: [Int], top: Int, left: Int, height: Int, width: Int, imageWidth: Int) -> [Float] {
        let far: Float = 1e20
        var squared = [Float](repeating: far, count: height * width)
        for pixel in pixels { squared[(pixel / imageWidth - top) * width + pixel % imageWidth - left] = 0 }
        var line = [Float](repeating: 0, count: max(height, width))
        for x in 0..<width {
            for y in 0..<height { line[y] = squared[y * width + x] }
            let transformed = transform(line, count: height)
            for y in 0..<height { squared[y * width + x] = transformed[y] }
        }
        for y in 0..<height {
            for x in 0..<width { line[x] = squared[y * width + x] }
            let transformed = transform(line, count: width)
            for x in 0..<width { squared[y * width + x] = transformed[x] }
        }
        return squared.map { $0.squareRoot() }
    }

    /// The 1-D squared distance transform `d(q) = min_p (q − p)² + f(p)` (lower envelope of parabolas).
    private static func transform(_ f: [Float], count n: Int) -> [Float] {
        var result = [Float](repeating: 0, count: n)
        var vertices = [Int](repeating: 0, count: n), bounds = [Float](repeating: 0, count: n + 1)
        var k = 0
        (bounds[0], bounds[1]) = (-.infinity, .infinity)
        for q in 1..<max(n, 1) {
            func intersection(_ p: Int) -> Float {
                ((f[q] + Float(q * q)) - (f[p] + Float(p * p))) / Float(2 * q - 2 * p)
            }
            var s = intersection(vertices[k])
            while s <= bounds[k] {
                k -= 1
                s = intersection(vertices[k])
            }
            k += 1
            (vertices[k], bounds[k], bounds[k + 1]) = (q, s, .infinity)
        }
        k = 0
        for q in 0..<n {
            while bounds[k + 1] < Float(q) { k += 1 }
            let p = vertices[k]
            result[q] = Float((q - p) * (q - p)) + f[p]
        }
        return result
    }
}
