/// The bias term of both convolutions: one value per channel, added to every pixel of that
/// channel's planes. Parallel over planes.
enum ChannelBias {
    /// `output[n, c, h, w] += bias[c]` for an `[N, C, H, W]` `output` that no other
    /// tensor shares.
    static func add(_ bias: Tensor, to output: Tensor) {
        let channels = output.shape[1], planes = output.shape[0] * channels
        let plane = output.count / max(planes, 1)
        nonisolated(unsafe) let y = output.storage.pointer, values = bias.storage.pointer
        Parallel.forEach(planes, grain: max(1, 4096 / max(plane, 1))) { index in
            let start = y + index * plane, value = values[index % channels]
            for pixel in 0..<plane { start[pixel] += value }
        }
    }
}
