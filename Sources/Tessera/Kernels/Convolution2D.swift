/// 2-D convolution (cross-correlation, as PyTorch's `conv2d`) lowered to im2col + GEMM
/// (Caffe's `BaseConvolutionLayer`).
///
/// Shapes: input `x` `[N, C, H, W]`, weight `W` `[Cout, C, kH, kW]` viewed as the matrix
/// `[Cout, K]` with `K = C·kH·kW`, output `y` `[N, Cout, Ho, Wo]`; per image the column
/// matrix is `cols = im2col(x)` `[K, P]` with `P = Ho·Wo`.
/// - forward: `y = W · cols (+ bias)`
/// - backward-weight: `dW = Σₙ dy · colsᵀ`
/// - backward-data: `dx = col2im(Wᵀ · dy)`
/// A 1×1 kernel with stride 1 and no padding uses the input itself as `cols`. Otherwise
/// the batch is lowered in tiles (see `Lowering`, which issues the GEMMs): output rows of
/// one large image, or several small images side by side, `P` standing for a tile's
/// pixels. The forward pass and the input gradient here are the input gradient and the
/// forward pass of ``ConvolutionTranspose2D``, and share its GEMMs.
public enum Convolution2D {
    /// The geometry of one image of `inputShape` under a weight of `weightShape`.
    public static func geometry(
        inputShape: [Int], weightShape: [Int], stride: Size2D, padding: Size2D, dilation: Size2D
    ) -> ConvolutionGeometry {
        require(
            inputShape.count == 4 && weightShape.count == 4 && inputShape[1] == weightShape[1],
            "conv2d: input \(inputShape) needs [N, C, H, W] and weight \(weightShape) [Cout, C, kH, kW] with equal C")
        return ConvolutionGeometry(
            channels: inputShape[1], inputSize: Size2D(inputShape[2], inputShape[3]),
            kernelSize: Size2D(weightShape[2], weightShape[3]),
            stride: stride, padding: padding, dilation: dilation)
    }

    /// `y = epilogue(conv(x, W) + bias)`.
    ///
    /// - Parameters:
    ///   - bias: `[Cout]`, or `nil` for none.
    ///   - epilogue: a map of each output channel (batch norm folded in, say), applied to
    ///     each tile as its GEMM writes it; nil for none.
    ///   - workspace: where the column matrix lives; reused across calls.
    public static func forward(
        input: Tensor, weight: Tensor, bias: Tensor? = nil,
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1,
        epilogue: ChannelAffine? = nil,
        workspace: Workspace = .forCurrentThread
    ) -> Tensor {
        let g = geometry(inputShape: input.shape, weightShape: weight.shape, stride: stride, padding: padding, dilation: dilation)
        let batch = input.shape[0], outputChannels = weight.shape[0]
        if let bias {
            require(bias.shape == [outputChannels], "conv2d: bias \(bias.shape) must be [\(outputChannels)]")
        }
        if let epilogue {
            require(epilogue.channels == outputChannels, "conv2d: epilogue of \(epilogue.channels) channels for \(outputChannels) outputs")
        }
        // The bias is added to each tile as it is written: an epilogue of its own, or
        // folded into the given one.
        let tileMap = bias.map { bias in epilogue?.afterBias(bias.scalars) ?? ChannelAffine(scale: nil, shift: bias.scalars) } ?? epilogue
        let output = Tensor(uninitializedShape: [batch, outputChannels, g.outputSize.height, g.outputSize.width])
        // y[Cout, P] = W[Cout, K] · cols[K, P].
        Lowering(geometry: g, batch: batch, factorChannels: outputChannels, workspace: workspace)
            .weightTimesColumns(
                of: input.storage.pointer, weight: weight.storage.pointer, into: output.storage.pointer, epilogue: tileMap)
        return output
    }

    /// The three passes of a convolution.
    public enum Pass: Sendable {
        case forward, inputGradient, weightGradient
    }

    /// The N of every GEMM that `pass` over a batch of `inputShape` issues, one per tile of
    /// the lowering (the K of the backward-weight GEMMs): the shapes a bare-sgemm reference
    /// for the layer uses.
    public static func tileWidths(
        inputShape: [Int], weightShape: [Int], stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1, pass: Pass,
        context: ExecutionContext = .current
    ) -> [Int] {
        let g = geometry(inputShape: inputShape, weightShape: weightShape, stride: stride, padding: padding, dilation: dilation)
        let sharing = Lowering.sharing(of: pass, geometry: g, factorChannels: weightShape[0], batch: inputShape[0], context: context)
        return Lowering.tileWidths(
            geometry: g, factorChannels: weightShape[0], batch: inputShape[0], sharing: sharing, context: context)
    }

    /// `dx = col2im(Wᵀ · dy)`, the gradient of the loss with respect to the input.
    public static func backwardData(
        gradientOfOutput gradient: Tensor, weight: Tensor, inputShape: [Int],
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1,
        workspace: Workspace = .forCurrentThread
    ) -> Tensor {
        let g = geometry(inputShape: inputShape, weightShape: weight.shape, stride: stride, padding: padding, dilation: dilation)
        let batch = inputShape[0], outputChannels = weight.shape[0]
        requireOutputShape(gradient.shape, [batch, outputChannels, g.outputSize.height, g.outputSize.width])
        let result = Tensor(uninitializedShape: inputShape)
        // dx = col2im(W[Cout, K]ᵀ · dy[Cout, P]).
        Lowering(geometry: g, batch: batch, factorChannels: outputChannels, workspace: workspace)
            .transposedWeightTimesFactors(gradient.storage.pointer, weight: weight.storage.pointer, scatteredInto: result.storage.pointer)
        return result
    }

    /// `dW = Σₙ dy · colsᵀ`, the gradient of the loss with respect to the weight.
    public static func backwardWeight(
        gradientOfOutput gradient: Tensor, input: Tensor, weightShape: [Int],
        stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1,
        workspace: Workspace = .forCurrentThread
    ) -> Tensor {
        let g = geometry(inputShape: input.shape, weightShape: weightShape, stride: stride, padding: padding, dilation: dilation)
        let batch = input.shape[0], outputChannels = weightShape[0]
        requireOutputShape(gradient.shape, [batch, outputChannels, g.outputSize.height, g.outputSize.width])
        // dW[Cout, K] = Σ dy[Cout, P] · cols[K, P]ᵀ.
        return Lowering(geometry: g, batch: batch, factorChannels: outputChannels, workspace: workspace).sumOfProducts(
            columnsOf: input.storage.pointer, factors: gradient.storage.pointer, shape: weightShape)
    }

    /// `db[c] = Σ_{n, h, w} dy[n, c, h, w]`.
    public static func backwardBias(gradientOfOutput gradient: Tensor) -> Tensor {
        ChannelReduction.sum(gradient)
    }

    static func requireOutputShape(_ actual: [Int], _ expected: [Int], operation: String = "conv2d") {
        require(actual == expected, "\(operation): output gradient has shape \(actual), expected \(expected)")
    }
}
