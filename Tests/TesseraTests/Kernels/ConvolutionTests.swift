import Foundation
import Testing
import Tessera

@Suite("conv2d as im2col + GEMM")
struct ConvolutionTests {
    /// (batch, Cin, Cout, kernel, stride, padding, dilation, height, width)
    static let table: [(Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 2, 3, 1, 1, 0, 1, 5, 5), (3, 3, 2, 1, 2, 0, 1, 7, 6), (1, 3, 4, 3, 1, 1, 1, 8, 8),
        (3, 2, 5, 3, 2, 1, 1, 9, 7), (1, 4, 2, 3, 1, 0, 1, 6, 7), (3, 1, 3, 3, 2, 2, 1, 8, 9),
        (1, 2, 3, 5, 1, 2, 1, 9, 8), (3, 3, 2, 5, 2, 0, 1, 11, 10), (1, 2, 4, 3, 1, 2, 2, 7, 8),
        (3, 3, 2, 3, 2, 1, 2, 10, 9), (1, 1, 1, 5, 1, 1, 2, 12, 11), (1, 5, 3, 1, 1, 2, 1, 4, 4),
    ]

    @Test("forward equals a naive direct convolution", arguments: table.indices)
    func forwardMatchesNaive(index: Int) {
        let (batch, cin, cout, k, stride, padding, dilation, h, w) = Self.table[index]
        var generator = RandomGenerator(seed: UInt64(index))
        let x = Tensor.normal([batch, cin, h, w], using: &generator)
        let weight = Tensor.normal([cout, cin, k, k], using: &generator)
        let bias = Tensor.normal([cout], using: &generator)
        let y = Convolution2D.forward(
            input: x, weight: weight, bias: bias, stride: Size2D(stride), padding: Size2D(padding), dilation: Size2D(dilation))
        let expected = Naive.conv2d(input: x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
        #expect(y.shape == expected.shape)
        #expect(y.isApproximatelyEqual(to: expected, relativeTolerance: 1e-4, absoluteTolerance: 1e-4))
    }

    @Test("backward-data, backward-weight and bias gradient match finite differences", arguments: table.indices)
    func backwardMatchesFiniteDifferences(index: Int) {
        let (batch, cin, cout, k, s, p, d, h, w) = Self.table[index]
        let stride = Size2D(s), padding = Size2D(p), dilation = Size2D(d)
        var generator = RandomGenerator(seed: UInt64(100 + index))
        let x = Tensor.normal([batch, cin, h, w], using: &generator)
        let weight = Tensor.normal([cout, cin, k, k], using: &generator)
        let bias = Tensor.normal([cout], using: &generator)
        let probe = Tensor.normal(
            Convolution2D.forward(input: x, weight: weight, stride: stride, padding: padding, dilation: dilation).shape,
            using: &generator)
        func loss(_ x: Tensor, _ weight: Tensor, _ bias: Tensor) -> Double {
            GradientCheck.weightedSum(
                Convolution2D.forward(input: x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation), probe)
        }
        let dx = Convolution2D.backwardData(
            gradientOfOutput: probe, weight: weight, inputShape: x.shape, stride: stride, padding: padding, dilation: dilation)
        let dw = Convolution2D.backwardWeight(
            gradientOfOutput: probe, input: x, weightShape: weight.shape, stride: stride, padding: padding, dilation: dilation)
        let db = Convolution2D.backwardBias(gradientOfOutput: probe)
        let inputFailure = GradientCheck.mismatch(analytic: dx, at: x) { loss($0, weight, bias) }
        let weightFailure = GradientCheck.mismatch(analytic: dw, at: weight) { loss(x, $0, bias) }
        let biasFailure = GradientCheck.mismatch(analytic: db, at: bias) { loss(x, weight, $0) }
        #expect(inputFailure == nil, "input: \(inputFailure ?? "")")
        #expect(weightFailure == nil, "weight: \(weightFailure ?? "")")
        #expect(biasFailure == nil, "bias: \(biasFailure ?? "")")
    }

    @Test("forward and every gradient equal PyTorch's conv2d")
    func matchesPyTorch() throws {
        for reference in try FixtureCase.all(in: "conv2d.safetensors") {
            let stride = Size2D(reference.integer("stride")), padding = Size2D(reference.integer("padding"))
            let dilation = Size2D(reference.integer("dilation"))
            let x = try reference.tensor("input"), weight = try reference.tensor("weight"), bias = try reference.tensor("bias")
            let dy = try reference.tensor("grad_output")
            let y = Convolution2D.forward(input: x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
            expectMatchesReference(y, try reference.tensor("output"), "\(reference) output")
            expectMatchesReference(
                Convolution2D.backwardData(
                    gradientOfOutput: dy, weight: weight, inputShape: x.shape, stride: stride, padding: padding, dilation: dilation),
                try reference.tensor("grad_input"), "\(reference) grad_input")
            expectMatchesReference(
                Convolution2D.backwardWeight(
                    gradientOfOutput: dy, input: x, weightShape: weight.shape, stride: stride, padding: padding, dilation: dilation),
                try reference.tensor("grad_weight"), "\(reference) grad_weight")
            expectMatchesReference(Convolution2D.backwardBias(gradientOfOutput: dy), try reference.tensor("grad_bias"), "\(reference) grad_bias")
        }
    }

    @Test("the column workspace is reused: repeated calls allocate no new column buffer")
    func workspaceReuse() {
        let workspace = Workspace()
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.normal([2, 3, 16, 16], using: &generator)
        let weight = Tensor.normal([4, 3, 3, 3], using: &generator)
        let dy = Tensor.ones([2, 4, 16, 16])
        func allPasses() {
            _ = Convolution2D.forward(input: x, weight: weight, padding: 1, workspace: workspace)
            _ = Convolution2D.backwardData(gradientOfOutput: dy, weight: weight, inputShape: x.shape, padding: 1, workspace: workspace)
            _ = Convolution2D.backwardWeight(gradientOfOutput: dy, input: x, weightShape: weight.shape, padding: 1, workspace: workspace)
        }
        allPasses()
        let buffer = workspace.buffer(count: 0)
        let capacity = workspace.capacity
        // At least one image's column matrix [27, 256]; at most both images side by side
        // with the output's scratch matrix [4, 2·256], for each core.
        #expect(capacity >= 27 * 256 && capacity <= (27 + 4) * 512 * ProcessInfo.processInfo.activeProcessorCount)
        for _ in 0..<3 { allPasses() }
        #expect(workspace.capacity == capacity)
        #expect(workspace.buffer(count: 0) == buffer)
    }
}

@Suite("im2col and col2im")
struct Im2colTests {
    @Test("col2im is the adjoint of im2col: ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩",
          arguments: [(3, 1, 1, 1), (3, 2, 1, 1), (5, 2, 2, 2), (2, 2, 0, 1), (3, 3, 1, 2)])
    func adjoint(kernel: Int, stride: Int, padding: Int, dilation: Int) {
        let g = ConvolutionGeometry(
            channels: 3, inputSize: [11, 9], kernelSize: Size2D(kernel), stride: Size2D(stride),
            padding: Size2D(padding), dilation: Size2D(dilation))
        var generator = RandomGenerator(seed: 8)
        let x = Tensor.normal([g.inputCount], using: &generator)
        let c = Tensor.normal([g.columnRows * g.columnCount], using: &generator)
        var columns = Tensor.zeros([g.columnRows * g.columnCount])
        var image = Tensor.zeros([g.inputCount])
        x.withUnsafeBufferPointer { x in columns.withUnsafeMutableBufferPointer { Im2col.im2col(x.baseAddress!, geometry: g, into: $0.baseAddress!) } }
        c.withUnsafeBufferPointer { c in image.withUnsafeMutableBufferPointer { Im2col.col2im(c.baseAddress!, geometry: g, into: $0.baseAddress!) } }
        let lhs = GradientCheck.weightedSum(columns, c), rhs = GradientCheck.weightedSum(x, image)
        #expect(abs(lhs - rhs) <= 1e-4 * max(1, abs(lhs)))
    }

    /// (kernel, padding, dilation, height, width) with stride 1 and the output as wide as
    /// the input, lowered by shifted copies of whole runs of rows; the padding is
    /// `[padding.height, padding.width]`.
    static let rowPreservingCases: [(Size2D, Size2D, Size2D, Int, Int)] = [
        (3, 1, 1, 8, 8), (3, [0, 1], 1, 7, 5), (5, 2, 1, 6, 9), (3, 2, 2, 9, 4),
        (3, 1, 1, 1, 1), (3, 1, 1, 2, 1), (5, 4, 2, 3, 2), ([1, 3], [0, 1], 1, 4, 6),
    ]

    @Test("im2col equals its definition on every tile of output rows, also where taps shift past a whole row",
          arguments: rowPreservingCases.indices)
    func shiftedCopiesMatchDefinition(index: Int) {
        let (kernel, padding, dilation, height, width) = Self.rowPreservingCases[index]
        let g = ConvolutionGeometry(channels: 2, inputSize: [height, width], kernelSize: kernel, padding: padding, dilation: dilation)
        #expect(g.preservesRowLayout)
        var generator = RandomGenerator(seed: UInt64(20 + index))
        let x = Tensor.normal([g.inputCount], using: &generator).scalars
        for tileRows in 1...g.outputSize.height {
            for rows in g.outputRowTiles(maximumElements: tileRows * g.columnRows * g.outputSize.width) {
                var columns = [Float](repeating: .nan, count: g.columnRows * rows.count * width)
                x.withUnsafeBufferPointer { x in
                    columns.withUnsafeMutableBufferPointer { Im2col.im2col(x.baseAddress!, geometry: g, outputRows: rows, into: $0.baseAddress!) }
                }
                var expected = [Float]()
                for channel in 0..<2 {
                    for i in 0..<kernel.height {
                        for j in 0..<kernel.width {
                            for y in rows {
                                for column in 0..<width {
                                    let row = y - padding.height + i * dilation.height, inputColumn = column - padding.width + j * dilation.width
                                    let inside = row >= 0 && row < height && inputColumn >= 0 && inputColumn < width
                                    expected.append(inside ? x[(channel * height + row) * width + inputColumn] : 0)
                                }
                            }
                        }
                    }
                }
                #expect(columns == expected, "tile \(rows)")
            }
        }
    }

    @Test("im2col of a 3×3 image with a 2×2 kernel lists each window")
    func smallExample() {
        let g = ConvolutionGeometry(channels: 1, inputSize: 3, kernelSize: 2)
        let x = Tensor.arange(9)
        var columns = Tensor.zeros([4 * 4])
        x.withUnsafeBufferPointer { x in columns.withUnsafeMutableBufferPointer { Im2col.im2col(x.baseAddress!, geometry: g, into: $0.baseAddress!) } }
        // Rows are taps (0,0), (0,1), (1,0), (1,1); columns are the four output pixels.
        #expect(columns.scalars == [0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8])
    }
}

@Suite("convolution over several column tiles")
struct TiledConvolutionTests {
    /// Inner products that hold exactly for linear maps and their adjoints: they check
    /// every tile boundary of large images at the cost of a few forward passes.
    func adjointGaps(
        x: Tensor, weight: Tensor, padding: Size2D, workspace: Workspace = .forCurrentThread
    ) -> (data: Double, weight: Double) {
        var generator = RandomGenerator(seed: 12)
        let y = Convolution2D.forward(input: x, weight: weight, padding: padding, workspace: workspace)
        let probe = Tensor.normal(y.shape, using: &generator)
        let otherWeight = Tensor.normal(weight.shape, using: &generator)
        let dx = Convolution2D.backwardData(
            gradientOfOutput: probe, weight: weight, inputShape: x.shape, padding: padding, workspace: workspace)
        let dw = Convolution2D.backwardWeight(
            gradientOfOutput: probe, input: x, weightShape: weight.shape, padding: padding, workspace: workspace)
        let forwardWithOther = Convolution2D.forward(input: x, weight: otherWeight, padding: padding, workspace: workspace)
        let lhs = GradientCheck.weightedSum(y, probe)
        let dataGap = abs(lhs - GradientCheck.weightedSum(x, dx)) / max(1, abs(lhs))
        let weightLhs = GradientCheck.weightedSum(forwardWithOther, probe)
        let weightGap = abs(weightLhs - GradientCheck.weightedSum(otherWeight, dw)) / max(1, abs(weightLhs))
        return (dataGap, weightGap)
    }

    /// A 3×3 convolution with padding 1 of `x`: its forward pass against the naive loop,
    /// both backward passes by the adjoint identities.
    func expectConvolvesExactly(
        _ x: Tensor, _ weight: Tensor, workspace: Workspace = .forCurrentThread, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let y = Convolution2D.forward(input: x, weight: weight, padding: 1, workspace: workspace)
        let expected = Naive.conv2d(input: x, weight: weight, bias: nil, stride: 1, padding: 1, dilation: 1)
        #expect(y.isApproximatelyEqual(to: expected, relativeTolerance: 1e-4, absoluteTolerance: 1e-4), sourceLocation: sourceLocation)
        let gaps = adjointGaps(x: x, weight: weight, padding: 1, workspace: workspace)
        #expect(gaps.data < 1e-4 && gaps.weight < 1e-4, "\(gaps)", sourceLocation: sourceLocation)
    }

    @Test("an image whose column matrix spans several tiles convolves exactly as the naive loop", arguments: [0, 32])
    func forwardAcrossTiles(columnPadding: Int) {
        var generator = RandomGenerator(seed: 13)
        let x = Tensor.normal([2, 16, 96, 96], using: &generator)
        let weight = Tensor.normal([2, 16, 3, 3], using: &generator)
        let g = Convolution2D.geometry(inputShape: x.shape, weightShape: weight.shape, stride: 1, padding: 1, dilation: 1)
        let tuning = KernelTuning.reference(columnPadding: columnPadding)
        #expect(g.outputRowTiles(maximumElements: tuning.sharedTileElements).count > 1)
        expectConvolvesExactly(x, weight, workspace: Workspace(tuning: tuning))
    }

    @Test("small images grouped several to a tile, the last group partial, convolve exactly as the naive loop", arguments: [0, 32])
    func groupedImages(columnPadding: Int) {
        var generator = RandomGenerator(seed: 15)
        let x = Tensor.normal([5, 48, 24, 24], using: &generator)
        let weight = Tensor.normal([3, 48, 3, 3], using: &generator)
        // 432·576 column floats per image: four images to a tile, then one.
        let tuning = KernelTuning.reference(columnPadding: columnPadding)
        #expect(tuning.sharedTileElements / (48 * 9 * 576) == 4)
        expectConvolvesExactly(x, weight, workspace: Workspace(tuning: tuning))
    }

    /// Batches of 5, 1 and 3 images: groups of images (the last partial), or row ranges of
    /// one image, with the input gradient on shared tiles; batches of 4 and 2 also lower
    /// the input gradient on each core, image by image. Column matrices with dense rows
    /// (the AVX2 kernels' layout) and with rows padded by 32 floats (the AVX-512 kernels').
    @Test("tiles each core lowers on its own convolve exactly as the naive loop",
          arguments: [[5, 2, 6, 6], [1, 4, 40, 40], [3, 16, 50, 50], [4, 3, 20, 20], [2, 16, 50, 50]], [0, 32])
    func tilesPerCore(shape: [Int], columnPadding: Int) {
        var generator = RandomGenerator(seed: 16)
        let x = Tensor.normal(shape, using: &generator)
        let weight = Tensor.normal([3, shape[1], 3, 3], using: &generator)
        expectConvolvesExactly(x, weight, workspace: Workspace(tuning: .reference(columnPadding: columnPadding)))
    }

    /// Images cut into several row tiles, in batches of 1 and 3 (shared tiles) and 2 (each
    /// core its own images): every row of the input gradient must be zeroed before a tile
    /// adds to it. The gradient gets a buffer the pool has just had back full of NaN, so a
    /// row left as it was shows.
    @Test("the input gradient of row tiles overwrites every row of a reused buffer",
          arguments: [[1, 16, 64, 64], [3, 16, 50, 50], [2, 16, 64, 64]])
    func rowTilesOverwriteReusedBuffer(shape: [Int]) {
        var generator = RandomGenerator(seed: 17)
        let x = Tensor.normal(shape, using: &generator)
        let weight = Tensor.normal([4, shape[1], 3, 3], using: &generator)
        _ = Tensor(shape: shape, repeating: .nan)
        let gaps = adjointGaps(x: x, weight: weight, padding: 1, workspace: Workspace(tuning: .reference()))
        #expect(gaps.data < 1e-4 && gaps.weight < 1e-4, "\(gaps)")
    }

    /// The weight gradient's GEMMs overwrite each core's sums with their first tile, and
    /// the first core's sums are the result: both come from the pool, here just returned
    /// full of NaN. With a single row of output there is one tile, and the second core has
    /// no sums to add.
    @Test("the weight gradient overwrites reused buffers, also when a core gets no tile", .serialized,
          arguments: [[2, 32, 20, 20], [1, 32, 1, 24]])
    func weightGradientOverwritesReusedBuffers(shape: [Int]) {
        var generator = RandomGenerator(seed: 18)
        let x = Tensor.normal(shape, using: &generator)
        let weight = Tensor.normal([64, shape[1], 3, 3], using: &generator)
        // Three: the adjoint check's other weight takes one before the gradient.
        _ = (0..<3).map { _ in Tensor(shape: weight.shape, repeating: .nan) }
        let gaps = adjointGaps(x: x, weight: weight, padding: 1, workspace: Workspace(tuning: .reference()))
        #expect(gaps.weight < 1e-4, "\(gaps)")
    }

    @Test("transposed convolution across several tiles is the adjoint of its backward passes")
    func transposedAcrossTiles() {
        var generator = RandomGenerator(seed: 14)
        let x = Tensor.normal([1, 8, 64, 64], using: &generator)
        let weight = Tensor.normal([8, 128, 2, 2], using: &generator)
        let g = ConvolutionTranspose2D.geometry(
            inputShape: x.shape, weightShape: weight.shape, stride: 2, padding: 0, dilation: 1, outputPadding: 0)
        #expect(g.outputRowTiles(maximumElements: KernelTuning.reference().sharedTileElements).count > 1)
        let y = ConvolutionTranspose2D.forward(input: x, weight: weight, stride: 2)
        let probe = Tensor.normal(y.shape, using: &generator)
        let otherWeight = Tensor.normal(weight.shape, using: &generator)
        let dx = ConvolutionTranspose2D.backwardData(gradientOfOutput: probe, weight: weight, inputShape: x.shape, stride: 2)
        let dw = ConvolutionTranspose2D.backwardWeight(gradientOfOutput: probe, input: x, weightShape: weight.shape, stride: 2)
        let lhs = GradientCheck.weightedSum(y, probe)
        #expect(abs(lhs - GradientCheck.weightedSum(x, dx)) <= 1e-4 * max(1, abs(lhs)))
        let weightLhs = GradientCheck.weightedSum(ConvolutionTranspose2D.forward(input: x, weight: otherWeight, stride: 2), probe)
        #expect(abs(weightLhs - GradientCheck.weightedSum(otherWeight, dw)) <= 1e-4 * max(1, abs(weightLhs)))
    }
}
