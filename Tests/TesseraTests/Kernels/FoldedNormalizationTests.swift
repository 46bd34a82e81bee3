import Testing
import Tessera

@Suite("a convolution's epilogue: bias and batch norm folded into its tiles")
struct FoldedNormalizationTests {
    /// `max(scale[c]·y + shift[c], 0)` on every element of channel `c`, as a separate pass.
    func mapped(_ y: Tensor, scale: [Float], shift: [Float]) -> Tensor {
        let channels = y.shape[1], plane = y.count / (y.shape[0] * channels)
        let scalars = y.scalars.enumerated().map { index, value in
            let channel = index / plane % channels
            return max(value * scale[channel] + shift[channel], 0)
        }
        return Tensor(shape: y.shape, scalars: scalars)
    }

    /// Large images cut into row tiles, small images grouped (the last group partial), a
    /// batch split over the cores image by image, and a pointwise geometry, each with dense
    /// and padded column rows: the epilogue must reach every row of every tile once.
    @Test("an epilogue maps every output tile once, as a separate pass after the convolution would",
          arguments: [[1, 16, 96, 96], [5, 48, 24, 24], [4, 3, 20, 20], [2, 16, 50, 50]], [0, 32])
    func everyTileMapped(shape: [Int], columnPadding: Int) {
        var generator = RandomGenerator(seed: 41)
        let x = Tensor.normal(shape, using: &generator)
        let weight = Tensor.normal([5, shape[1], 3, 3], using: &generator)
        let scale = Tensor.normal([5], using: &generator).scalars, shift = Tensor.normal([5], using: &generator).scalars
        let workspace = Workspace(
            tuning: KernelTuning(coreTileElements: 48 * 9 * 600, sharedTileElements: 48 * 9 * 2400, columnPadding: columnPadding))
        let plain = Convolution2D.forward(input: x, weight: weight, padding: 1, workspace: workspace)
        let folded = Convolution2D.forward(
            input: x, weight: weight, padding: 1, epilogue: ChannelAffine(scale: scale, shift: shift, rectify: true),
            workspace: workspace)
        #expect(folded == mapped(plain, scale: scale, shift: shift))
    }

    @Test("a pointwise convolution's bias and epilogue fold into one map", arguments: [1, 3])
    func pointwiseWithBias(batch: Int) {
        var generator = RandomGenerator(seed: 42)
        let x = Tensor.normal([batch, 6, 7, 9], using: &generator)
        let weight = Tensor.normal([4, 6, 1, 1], using: &generator), bias = Tensor.normal([4], using: &generator)
        let scale = Tensor.normal([4], using: &generator).scalars, shift = Tensor.normal([4], using: &generator).scalars
        let expected = mapped(Convolution2D.forward(input: x, weight: weight, bias: bias), scale: scale, shift: shift)
        let folded = Convolution2D.forward(
            input: x, weight: weight, bias: bias, epilogue: ChannelAffine(scale: scale, shift: shift, rectify: true))
        #expect(folded.isApproximatelyEqual(to: expected, relativeTolerance: 1e-5, absoluteTolerance: 1e-5))
        #expect(Convolution2D.forward(input: x, weight: weight, bias: bias)
            .isApproximatelyEqual(to: Naive.conv2d(input: x, weight: weight, bias: bias, stride: 1, padding: 0, dilation: 1),
                                  relativeTolerance: 1e-4, absoluteTolerance: 1e-4))
    }

    /// A convolution and a batch norm whose running statistics are not the initial ones.
    func trainedPair(bias: Bool) -> (Conv2d, BatchNorm2d, Tensor) {
        var generator = RandomGenerator(seed: 43)
        let conv = Conv2d(inputChannels: 3, outputChannels: 8, kernelSize: 3, padding: 1, bias: bias, generator: &generator)
        let normalization = BatchNorm2d(features: 8)
        normalization.weight.value = Tensor.normal([8], using: &generator)
        normalization.bias.value = Tensor.normal([8], using: &generator)
        for _ in 0..<3 { _ = normalization(conv(Tensor.normal([2, 3, 12, 12], using: &generator) * 2 + 1)) }
        conv.eval()
        normalization.eval()
        return (conv, normalization, Tensor.normal([2, 3, 12, 12], using: &generator))
    }

    @Test("in evaluation mode a convolution followed by batch norm and ReLU folds into one pass with the same result",
          arguments: [false, true])
    func foldedPairEqualsTheTwoLayers(bias: Bool) {
        let (conv, normalization, x) = trainedPair(bias: bias)
        let separate = normalization(conv(x), rectify: true)
        let folded = conv(x, normalizedBy: normalization, rectify: true)
        if bias {
            #expect(folded.isApproximatelyEqual(to: separate, relativeTolerance: 1e-5, absoluteTolerance: 1e-5))
        } else {
            #expect(folded == separate)
            #expect(conv(x, normalizedBy: normalization) == normalization(conv(x)))
        }
        #expect(folded.scalars.contains(0) && folded.scalars.contains { $0 > 0 })
    }

    @Test("under a gradient scope the pair is not folded: the input gets the two layers' gradient")
    func gradientThroughThePair() {
        let (conv, normalization, x) = trainedPair(bias: false)
        let folded = valueAndGradient(at: [x]) { conv($0[0], normalizedBy: normalization, rectify: true).sum() }.gradients[0]
        let separate = valueAndGradient(at: [x]) { normalization(conv($0[0]), rectify: true).sum() }.gradients[0]
        #expect(folded == separate)
        #expect(folded.scalars.contains { $0 != 0 })
    }

    @Test("in training mode the pair normalises with the batch's statistics and updates the running ones")
    func trainingModeIsNotFolded() {
        let (conv, normalization, x) = trainedPair(bias: false)
        conv.train()
        normalization.train()
        let mean = normalization.runningMean.value
        let output = conv(x, normalizedBy: normalization)
        #expect(normalization.runningMean.value != mean)
        // Channel 0 of both images, normalised with their own statistics: its mean is β₀.
        let scalars = output.scalars, imageCount = 8 * 144
        let firstChannel = Array(scalars[0..<144]) + Array(scalars[imageCount..<(imageCount + 144)])
        let average = firstChannel.reduce(0, +) / Float(firstChannel.count)
        #expect(abs(average - normalization.bias.value.scalars[0]) < 1e-4)
    }
}
