/// A per-channel `y ← scale[c]·y + shift[c]`, optionally followed by ReLU, that a
/// convolution applies to each output tile right after the GEMM that wrote it, while the
/// tile is still in cache: its bias, or batch norm with running statistics (and its ReLU)
/// folded into the convolution, as PyTorch's `fuse_conv_bn_eval` folds it.
public struct ChannelAffine: Sendable {
    /// One factor per channel; nil for all ones.
    public let scale: [Float]?
    /// One term per channel.
    public let shift: [Float]
    /// Whether ReLU follows.
    public let rectify: Bool

    public init(scale: [Float]?, shift: [Float], rectify: Bool = false) {
        require(
            scale.map { $0.count == shift.count } ?? true,
            "ChannelAffine: \(scale?.count ?? 0) scales for \(shift.count) shifts")
        self.scale = scale
        self.shift = shift
        self.rectify = rectify
    }

    /// The channels the map covers.
    public var channels: Int { shift.count }

    /// This map after a bias: `y ↦ self(y + bias)`, as one map.
    func afterBias(_ bias: [Float]) -> ChannelAffine {
        let shifts = (0..<channels).map { shift[$0] + (scale?[$0] ?? 1) * bias[$0] }
        return ChannelAffine(scale: scale, shift: shifts, rectify: rectify)
    }

    /// Maps the `width` floats of `row`, which belong to `channel`.
    func apply(channel: Int, to row: UnsafeMutablePointer<Float>, width: Int) {
        let shift = shift[channel]
        if let scale {
            let factor = scale[channel]
            if rectify {
                for index in 0..<width { row[index] = max(row[index] * factor + shift, 0) }
            } else {
                for index in 0..<width { row[index] = row[index] * factor + shift }
            }
        } else if rectify {
            for index in 0..<width { row[index] = max(row[index] + shift, 0) }
        } else {
            for index in 0..<width { row[index] += shift }
        }
    }
}
