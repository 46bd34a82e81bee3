/// 2-D transposed convolution (PyTorch's `conv_transpose2d`, Caffe's deconvolution): the
/// convolution machinery read backwards.
///
/// Shapes: input `x` `[N, Cin, H, W]`, weight `W` `[Cin, Cout, kH, kW]` viewed as the
/// matrix `[Cin, K]` with `K = Cout·kH·kW`, output `y` `[N, Cout, Ho, Wo]` with
/// `Ho = (H − 1)·s − 2p + d·(kH − 1) + outputPadding + 1`. The column matrices belong to
/// the convolution that maps `y`'s shape back to `x`'s (``geometry``), with `P = H·W`.
/// - forward: `y = col2im(Wᵀ · x) (+ bias)`
/// - backward-data: `dx = W · im2col(dy)`
/// - backward-weight: `dW = Σₙ x · im2col(dy)ᵀ`
public enum ConvolutionTranspose2D {
    /// The convolution geometry whose input is this layer's output and whose output is
    /// this layer's input.
    public static func geometry(
        inputShape: [Int], weightShape: [Int], stride: Size2D, padding: Size2D, dilation: Size2D,
        outputPadding: Size2D
    ) -> ConvolutionGeometry {
        require(
            inputShape.count == 4 && weightShape.count == 4 && inputShape[1] == weightShape[0],
            "conv_transpose2d: input \(inputShape) needs [N, Cin, H, W] and weight \(weightShape) [Cin, Cout, kH, kW] with equal Cin")
        require(
            outputPadding.height >= 0 && outputPadding.width >= 0
                && outputPadding.height < max(stride.height, dilation.height)
                && outputPadding.width < max(stride.width, dilation.width),
            "conv_transpose2d: output padding \(outputPadding) must be smaller than stride \(stride) or dilation \(dilation)")
        func outputLength(_ input: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ dilation: Int, _ extra: Int) -> Int {
            (input - 1) * stride - 2 * padding + dilation * (kernel - 1) + extra + 1
        }
        let outputSize = Size2D(
            outputLength(inputShape[2], weightShape[2], stride.height, padding.height, dilation.height, outputPadding.height),
            outputLength(inputShape[3], weightShape[3], stride.width, padding.width, dilation.width, outputPadding.width))
        require(
            outputSize.height > 0 && outputSize.width > 0,
            "conv_transpose2d: input \(inputShape) with weight \(weightShape) gives an empty output")
        let g = ConvolutionGeometry(
            channels: weightShape[1], inputSize: outputSize, kernelSize: Size2D(weightShape[2], weightShape[3]),
            stride: stride, padding: padding, dilation: dilation)
        require(g.outputSize == Size2D(inputShape[2], inputShape[3]), "conv_transpose2d: inconsistent geometry \(g)")
        return g
    }

    /// `y = conv_transpose(x, W) + bias`.
    public static func forward(
        input: Tensor, weight: Tensor, bias: Tensor? = nil,
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1, outputPadding: Size2D = 0,
        workspace: Workspace = .forCurrentThread
    ) -> Tensor {
        let g = geometry(
            inputShape: input.shape, weightShape: weight.shape, stride: stride, padding: padding,
            dilation: dilation, outputPadding: outputPadding)
        let batch = input.shape[0], inputChannels = weight.shape[0], outputChannels = weight.shape[1]
        if let bias {
            require(bias.shape == [outputChannels], "conv_transpose2d: bias \(bias.shape) must be [\(outputChannels)]")
        }
        let output = Tensor(uninitializedShape: [batch, outputChannels, g.inputSize.height, g.inputSize.width])
        // y = col2im(W[Cin, K]ᵀ · x[Cin, P]), K = Cout·kH·kW.
        Lowering(geometry: g, batch: batch, factorChannels: inputChannels, workspace: workspace)
            .transposedWeightTimesFactors(input.storage.pointer, weight: weight.storage.pointer, scatteredInto: output.storage.pointer)
        if let bias { ChannelBias.add(bias, to: output) }
        return output
    }

    /// `dx = W · im2col(dy)`, the gradient of the loss with respect to the input.
    public static func backwardData(
        gradientOfOutput gradient: Tensor, weight: Tensor, inputShape: [Int],
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1, outputPadding: Size2D = 0,
        workspace: Workspace = .forCurrentThread
    ) -> Tensor {
        let g = geometry(
            inputShape: inputShape, weightShape: weight.shape, stride: stride, padding: padding,
            dilation: dilation, outputPadding: outputPadding)
        let batch = inputShape[0], inputChannels = weight.shape[0]
        Convolution2D.requireOutputShape(
            gradient.shape, [batch, weight.shape[1], g.inputSize.height, g.inputSize.width], operation: "conv_transpose2d")
        let result = Tensor(uninitializedShape: inputShape)
        // dx[Cin, P] = W[Cin, K] · im2col(dy)[K, P].
        Lowering(geometry: g, batch: batch, factorChannels: inputChannels, workspace: workspace)
            .weightTimesColumns(of: gradient.storage.pointer, weight: weight.storage.pointer, into: result.storage.pointer)
        return result
    }

    /// `dW = Σₙ x · im2col(dy)ᵀ`, the gradient of the loss with respect to the weight.
    public static func backwardWeight(
        gradientOfOutput gradient: Tensor, input: Tensor, weightShape: [Int],
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1, outputPadding: Size2D = 0,
        workspace: Workspace = .forCurrentThread
    ) -> Tensor {
        let g = geometry(
            inputShape: input.shape, weightShape: weightShape, stride: stride, padding: padding,
            dilation: dilation, outputPadding: outputPadding)
        let batch = input.shape[0], inputChannels = weightShape[0]
        Convolution2D.requireOutputShape(
            gradient.shape, [batch, weightShape[1], g.inputSize.height, g.inputSize.width], operation: "conv_transpose2d")
        // dW[Cin, K] = Σ x[Cin, P] · cols[K, P]ᵀ, the columns taken from dy.
        return Lowering(geometry: g, batch: batch, factorChannels: inputChannels, workspace: workspace).sumOfProducts(
            columnsOf: gradient.storage.pointer, factors: input.storage.pointer, shape: weightShape)
    }

    /// `db[c] = Σ_{n, h, w} dy[n, c, h, w]`.
    public static func backwardBias(gradientOfOutput gradient: Tensor) -> Tensor {
        ChannelReduction.sum(gradient)
    }
}
