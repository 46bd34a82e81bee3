/// Per-channel sums of NCHW tensors, shared by the bias gradients of the convolutions.
public enum ChannelReduction {
    /// `result[c] = Σ_{n, h, w} tensor[n, c, h, w]` for a tensor of rank ≥ 2 (accumulated
    /// in `Double`). Parallel over channels.
    public static func sum(_ tensor: Tensor) -> Tensor {
        require(tensor.rank >= 2, "ChannelReduction.sum: expected [N, C, …], got \(tensor.shape)")
        let batch = tensor.shape[0], channels = tensor.shape[1]
        let plane = tensor.shape.dropFirst(2).reduce(1, *)
        let result = Tensor(uninitializedShape: [channels])
        nonisolated(unsafe) let source = tensor.storage.pointer, target = result.storage.pointer
        Parallel.forEach(channels) { channel in
            var total = 0.0
            for image in 0..<batch {
                total += Double(LaneReduction.sum(source + (image * channels + channel) * plane, count: plane))
            }
            target[channel] = Float(total)
        }
        return result
    }
}
