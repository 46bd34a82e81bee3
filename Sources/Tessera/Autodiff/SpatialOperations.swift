/// Max pooling of `[N, C, H, W]` (differentiable; the gradient goes to each window's maximum).
public func maxPool2d(_ input: Tensor, kernelSize: Size2D = 2, stride: Size2D? = nil) -> Tensor {
    let problem = MaxPooling2D.mismatch(input: input.shape, kernelSize: kernelSize, stride: stride ?? kernelSize)
    guard checkShape(problem == nil, problem!) else { return Tensor.zeros(poolingPlaceholder(input.shape)) }
    guard Tape.isRecording(for: [input]) else { return MaxPooling2D.maxima(input: input, kernelSize: kernelSize, stride: stride) }
    let pooled = MaxPooling2D.forward(input: input, kernelSize: kernelSize, stride: stride)
    let argmax = pooled.argmax, shape = input.shape
    return Tape.record(pooled.output, inputs: [input], firstOrderOnly: "maxPool2d") {
        [MaxPooling2D.backward(gradientOfOutput: $0, argmax: argmax, inputShape: shape)]
    }
}

/// Average pooling of `[N, C, H, W]` over `kernelSize` windows with the same stride, floor
/// mode (differentiable: each window's gradient is shared equally by its pixels).
public func averagePool2d(_ input: Tensor, kernelSize: Size2D = 2) -> Tensor {
    guard checkShape(input.rank == 4, "averagePool2d: expected [N, C, H, W], got \(input.shape)") else {
        return Tensor.zeros(poolingPlaceholder(input.shape))
    }
    let (n, c, height, width) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
    let (kh, kw) = (kernelSize.height, kernelSize.width)
    guard checkShape(
        kh >= 1 && kw >= 1 && kh <= height && kw <= width,
        "averagePool2d: kernel \(kh)×\(kw) does not fit the \(height)×\(width) input")
    else { return Tensor.zeros(poolingPlaceholder(input.shape)) }
    let (rows, columns) = (height / kh, width / kw)
    let cropped = crop(input, SpatialPadding.Amounts(top: 0, bottom: height - rows * kh, left: 0, right: width - columns * kw))
    return cropped.reshaped([n, c, rows, kh, columns, kw]).mean(alongAxis: 5).mean(alongAxis: 3)
}

/// What a pooling whose windows do not fit `shape` returns inside a ``withError(_:)``
/// scope: zeros of one pixel per plane.
private func poolingPlaceholder(_ shape: [Int]) -> [Int] {
    shape.count == 4 ? [shape[0], shape[1], 1, 1] : shape
}

/// Concatenation of `[N, Cᵢ, …]` tensors along channels (differentiable).
public func concatenate(_ inputs: [Tensor]) -> Tensor {
    let counts = inputs.map { $0.shape[1] }
    return Tape.record(ChannelConcatenation.concatenate(inputs), inputs: inputs, firstOrderOnly: "concatenate") {
        ChannelConcatenation.split($0, channelCounts: counts)
    }
}

/// Concatenation along any `axis` of tensors whose other dimensions agree, as PyTorch's
/// `cat(dim:)` (differentiable: each input gets its slice of the gradient).
public func concatenate(_ inputs: [Tensor], alongAxis axis: Int) -> Tensor {
    guard checkShape(!inputs.isEmpty, "concatenate: no tensors") else { return Tensor.zeros([0]) }
    let first = inputs[0].shape
    guard checkShape(axis >= 0 && axis < first.count, "concatenate: axis \(axis) out of range for shape \(first)") else {
        return Tensor.zeros(first)
    }
    for input in inputs {
        var expected = first, actual = input.shape
        guard checkShape(input.rank == first.count, "concatenate: shapes \(first) and \(input.shape) differ in rank") else {
            return Tensor.zeros(first)
        }
        (expected[axis], actual[axis]) = (0, 0)
        guard checkShape(actual == expected, "concatenate along \(axis): shapes \(first) and \(input.shape) differ outside that axis")
        else { return Tensor.zeros(first) }
    }
    let lengths = inputs.map { $0.shape[axis] }
    let outer = first[..<axis].reduce(1, *), inner = first[(axis + 1)...].reduce(1, *)
    var shape = first
    shape[axis] = lengths.reduce(0, +)
    let total = shape[axis]
    var result = Tensor.zeros(shape)
    result.withUnsafeMutableBufferPointer { target in
        var start = 0
        for (input, length) in zip(inputs, lengths) {
            input.withUnsafeBufferPointer { source in
                for o in 0..<outer {
                    for l in 0..<length * inner { target[(o * total + start) * inner + l] = source[o * length * inner + l] }
                }
            }
            start += length
        }
    }
    return Tape.record(result, inputs: inputs, firstOrderOnly: "concatenate(alongAxis:)") { gradient in
        var starts = 0
        return lengths.map { length in
            defer { starts += length }
            let begin = starts
            var part = Tensor.zeros(Array(shape[..<axis]) + [length] + Array(shape[(axis + 1)...]))
            part.withUnsafeMutableBufferPointer { target in
                gradient.withUnsafeBufferPointer { source in
                    for o in 0..<outer {
                        for l in 0..<length * inner { target[o * length * inner + l] = source[(o * total + begin) * inner + l] }
                    }
                }
            }
            return part
        }
    }
}

/// Zero padding of the last two dimensions of `[N, C, H, W]` (differentiable).
public func pad(_ input: Tensor, _ amounts: SpatialPadding.Amounts) -> Tensor {
    if amounts.isZero { return input }
    return Tape.record(SpatialPadding.pad(input, amounts), inputs: [input]) { [crop($0, amounts)] }
}

/// Removes `amounts` from the borders of `[N, C, H, W]`, the inverse of ``pad(_:_:)``
/// (differentiable: the gradient is zero-padded back).
public func crop(_ input: Tensor, _ amounts: SpatialPadding.Amounts) -> Tensor {
    if amounts.isZero { return input }
    return Tape.record(SpatialPadding.unpad(input, amounts), inputs: [input]) { [pad($0, amounts)] }
}

/// Bilinear up-sampling with `align_corners=True` by an integer factor (differentiable).
public func upsampleBilinear(_ input: Tensor, factor: Int = 2) -> Tensor {
    let shape = input.shape
    return Tape.record(BilinearUpsampling.forward(input, factor: factor), inputs: [input], firstOrderOnly: "upsampleBilinear") {
        [BilinearUpsampling.backward(gradientOfOutput: $0, inputShape: shape, factor: factor)]
    }
}
