/// 2-D convolution of `[N, C, H, W]` with weight `[Cout, C, kH, kW]` and optional bias
/// `[Cout]` (differentiable with respect to all three), as PyTorch's `conv2d`.
public func conv2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil,
    stride: Size2D = 1, padding: Size2D = 0, dilation: Size2D = 1
) -> Tensor {
    let output = Convolution2D.forward(
        input: input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
    let (x, w) = (input.detached(), weight.detached())
    let hasBias = bias != nil
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    let (needsInputGradient, needsWeightGradient) = (Tape.isTracked(input), Tape.isTracked(weight))
    return Tape.record(output, inputs: inputs, firstOrderOnly: "conv2d") { gradient in
        let dx: Tensor?
        if !needsInputGradient {
            dx = nil
        } else if Tape.active != nil {
            // A nested scope's replay: the input gradient is the transposed convolution of
            // the output gradient, recorded, so its own gradient can be taken. Its output
            // padding makes up the input rows and columns that the strides skipped.
            let reached = ConvolutionTranspose2D.geometry(
                inputShape: gradient.shape, weightShape: weight.shape, stride: stride, padding: padding, dilation: dilation,
                outputPadding: 0
            ).inputSize
            let outputPadding = Size2D(x.shape[2] - reached.height, x.shape[3] - reached.width)
            dx = convTranspose2d(
                gradient, weight: weight, stride: stride, padding: padding, outputPadding: outputPadding, dilation: dilation)
        } else {
            dx = Convolution2D.backwardData(
                gradientOfOutput: gradient, weight: w, inputShape: x.shape, stride: stride, padding: padding, dilation: dilation)
        }
        let dw = !needsWeightGradient ? nil : Convolution2D.backwardWeight(
            gradientOfOutput: gradient, input: x, weightShape: w.shape, stride: stride, padding: padding, dilation: dilation)
        return [dx, dw] + (hasBias ? [Convolution2D.backwardBias(gradientOfOutput: gradient)] : [])
    }
}

/// 2-D transposed convolution of `[N, Cin, H, W]` with weight `[Cin, Cout, kH, kW]` and
/// optional bias `[Cout]` (differentiable), as PyTorch's `conv_transpose2d`.
public func convTranspose2d(
    _ input: Tensor, weight: Tensor, bias: Tensor? = nil,
    stride: Size2D = 1, padding: Size2D = 0, outputPadding: Size2D = 0, dilation: Size2D = 1
) -> Tensor {
    let output = ConvolutionTranspose2D.forward(
        input: input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
        outputPadding: outputPadding)
    let (x, w) = (input.detached(), weight.detached())
    let hasBias = bias != nil
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    let (needsInputGradient, needsWeightGradient) = (Tape.isTracked(input), Tape.isTracked(weight))
    return Tape.record(output, inputs: inputs, firstOrderOnly: "convTranspose2d") { gradient in
        let dx: Tensor?
        if !needsInputGradient {
            dx = nil
        } else if Tape.active != nil {
            // A nested scope's replay: the convolution of the output gradient, recorded.
            dx = conv2d(gradient, weight: weight, stride: stride, padding: padding, dilation: dilation)
        } else {
            dx = ConvolutionTranspose2D.backwardData(
                gradientOfOutput: gradient, weight: w, inputShape: x.shape, stride: stride, padding: padding,
                dilation: dilation, outputPadding: outputPadding)
        }
        let dw = !needsWeightGradient ? nil : ConvolutionTranspose2D.backwardWeight(
            gradientOfOutput: gradient, input: x, weightShape: w.shape, stride: stride, padding: padding,
            dilation: dilation, outputPadding: outputPadding)
        return [dx, dw] + (hasBias ? [ConvolutionTranspose2D.backwardBias(gradientOfOutput: gradient)] : [])
    }
}

/// `x · Wᵀ + b` for `x` `[N, in]`, `W` `[out, in]`, `b` `[out]` (differentiable).
public func linear(_ input: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let output = FullyConnected.forward(input: input, weight: weight, bias: bias)
    let (x, w) = (input.detached(), weight.detached())
    let hasBias = bias != nil
    let inputs = [input, weight] + (bias.map { [$0] } ?? [])
    return Tape.record(output, inputs: inputs) { gradient in
        // A nested scope's replay records the same products as operations.
        guard Tape.active == nil else {
            return [gradient.matmul(weight), gradient.transposed().matmul(input)] + (hasBias ? [gradient.sum(alongAxis: 0)] : [])
        }
        return [FullyConnected.backwardData(gradientOfOutput: gradient, weight: w),
         FullyConnected.backwardWeight(gradientOfOutput: gradient, input: x)]
            + (hasBias ? [FullyConnected.backwardBias(gradientOfOutput: gradient)] : [])
    }
}
