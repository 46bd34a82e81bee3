/// Normalisation of each row of a `[rows, length]` view to zero mean and unit variance,
/// then a per-parameter scale and shift: `y = (x − μ) / √(σ² + ε) · γ[a] + β[a]`, the
/// kernel of group norm and layer norm (PyTorch's `group_norm`, `layer_norm`).
///
/// The parameter index of position `p` in row `r` is `a = ((r mod groups) · length + p) /
/// span`: group norm has `groups` rows per image and a parameter per channel (`span` = the
/// plane), layer norm one group and a parameter per position (`span` = 1).
public enum RowNormalization {
    /// How the rows and parameters lie in memory.
    public struct Layout: Sendable, Equatable {
        public let rows: Int, length: Int, groups: Int, span: Int

        public init(rows: Int, length: Int, groups: Int, span: Int) {
            (self.rows, self.length, self.groups, self.span) = (rows, length, groups, span)
        }

        /// How many scale (and shift) parameters the layout indexes.
        public var parameterCount: Int { groups * length / span }
    }

    /// What the backward pass needs from the forward pass: each row's mean and
    /// `1 / √(σ² + ε)`.
    public struct Saved: Sendable {
        public let mean: [Float]
        public let inverseStandardDeviation: [Float]
    }

    /// Normalises `input` (read as `layout`) and applies `weight`/`bias` (ones and zeros if nil).
    public static func forward(
        input: Tensor, layout: Layout, weight: Tensor?, bias: Tensor?, epsilon: Float
    ) -> (output: Tensor, saved: Saved) {
        checkShapes(input: input, layout: layout, weight: weight, bias: bias)
        let output = Tensor(uninitializedShape: input.shape)
        var mean = [Float](repeating: 0, count: layout.rows), inverse = mean
        let length = layout.length
        mean.withUnsafeMutableBufferPointer { meanBuffer in
            inverse.withUnsafeMutableBufferPointer { inverseBuffer in
                nonisolated(unsafe) let (means, inverses) = (meanBuffer.baseAddress!, inverseBuffer.baseAddress!)
                nonisolated(unsafe) let (x, y) = (input.storage.pointer, output.storage.pointer)
                nonisolated(unsafe) let (w, b) = (weight?.storage.pointer, bias?.storage.pointer)
                Parallel.forEach(layout.rows) { row in
                    let source = x + row * length, target = y + row * length
                    var total: Float = 0
                    for p in 0..<length { total += source[p] }
                    let centre = total / Float(length)
                    let variance = LaneReduction.sumOfSquaredDeviations(source, count: length, from: centre) / Float(length)
                    let scale = 1 / (variance + epsilon).squareRoot()
                    (means[row], inverses[row]) = (centre, scale)
                    let first = (row % layout.groups) * length
                    for p in 0..<length {
                        let a = (first + p) / layout.span
                        target[p] = (source[p] - centre) * scale * (w?[a] ?? 1) + (b?[a] ?? 0)
                    }
                }
            }
        }
        return (output, Saved(mean: mean, inverseStandardDeviation: inverse))
    }

    /// The gradients of input, weight and bias (the last two nil where the forward pass had none):
    /// `dx = (g − mean(g) − x̂ · mean(g · x̂)) / σ` per row, with `g = dy · γ[a]`.
    public static func backward(
        gradientOfOutput gradient: Tensor, input: Tensor, layout: Layout, weight: Tensor?, hasBias: Bool, saved: Saved
    ) -> (input: Tensor, weight: Tensor?, bias: Tensor?) {
        require(gradient.shape == input.shape, "row normalisation backward: gradient \(gradient.shape) differs from input \(input.shape)")
        let inputGradient = Tensor(uninitializedShape: input.shape)
        let length = layout.length
        nonisolated(unsafe) let (x, dy, dx) = (input.storage.pointer, gradient.storage.pointer, inputGradient.storage.pointer)
        nonisolated(unsafe) let w = weight?.storage.pointer
        saved.mean.withUnsafeBufferPointer { means in
            saved.inverseStandardDeviation.withUnsafeBufferPointer { inverses in
                nonisolated(unsafe) let (means, inverses) = (means.baseAddress!, inverses.baseAddress!)
                Parallel.forEach(layout.rows) { row in
                    let offset = row * length, first = (row % layout.groups) * length
                    let (centre, scale) = (means[row], inverses[row])
                    var (sumG, sumGX) = (Float(0), Float(0))
                    for p in 0..<length {
                        let g = dy[offset + p] * (w?[(first + p) / layout.span] ?? 1)
                        sumG += g
                        sumGX += g * (x[offset + p] - centre) * scale
                    }
                    let (meanG, meanGX) = (sumG / Float(length), sumGX / Float(length))
                    for p in 0..<length {
                        let g = dy[offset + p] * (w?[(first + p) / layout.span] ?? 1)
                        let normalised = (x[offset + p] - centre) * scale
                        dx[offset + p] = (g - meanG - normalised * meanGX) * scale
                    }
                }
            }
        }
        guard weight != nil || hasBias else { return (inputGradient, nil, nil) }
        var weightSums = [Double](repeating: 0, count: layout.parameterCount), biasSums = weightSums
        for row in 0..<layout.rows {
            let offset = row * length, first = (row % layout.groups) * length
            let (centre, scale) = (saved.mean[row], saved.inverseStandardDeviation[row])
            var p = 0
            while p < length {
                let a = (first + p) / layout.span, end = min(length, (a + 1) * layout.span - first)
                var (sumDY, sumDYX) = (Float(0), Float(0))
                for q in p..<end {
                    sumDY += dy[offset + q]
                    sumDYX += dy[offset + q] * (x[offset + q] - centre) * scale
                }
                weightSums[a] += Double(sumDYX)
                biasSums[a] += Double(sumDY)
                p = end
            }
        }
        let shape = weight?.shape ?? [layout.parameterCount]
        return (
            inputGradient,
            weight.map { _ in Tensor(shape: shape, scalars: weightSums.map { Float($0) }) },
            hasBias ? Tensor(shape: shape, scalars: biasSums.map { Float($0) }) : nil)
    }

    private static func checkShapes(input: Tensor, layout: Layout, weight: Tensor?, bias: Tensor?) {
        require(
            layout.rows * layout.length == input.count && layout.length > 0 && layout.span > 0
                && layout.length % layout.span == 0 && layout.groups > 0,
            "row normalisation: layout \(layout) does not fit input \(input.shape)")
        for (name, tensor) in [("weight", weight), ("bias", bias)] {
            if let tensor {
                require(tensor.count == layout.parameterCount, "row normalisation: \(name) \(tensor.shape) needs \(layout.parameterCount) elements")
            }
        }
    }
}
