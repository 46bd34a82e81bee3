/// Concatenation of `[N, Cᵢ, …]` tensors along channels, and the split of its gradient.
public enum ChannelConcatenation {
    /// `[N, ΣCᵢ, …]` holding each input's channels in order.
    public static func concatenate(_ inputs: [Tensor]) -> Tensor {
        require(!inputs.isEmpty, "concatenate: no tensors given")
        let first = inputs[0]
        require(first.rank >= 2, "concatenate: expected [N, C, …], got \(first.shape)")
        for input in inputs {
            require(
                input.rank == first.rank && input.shape[0] == first.shape[0] && input.shape.dropFirst(2) == first.shape.dropFirst(2),
                "concatenate: shapes \(inputs.map(\.shape)) differ outside the channel dimension")
        }
        let batch = first.shape[0], plane = first.shape.dropFirst(2).reduce(1, *)
        let totalChannels = inputs.reduce(0) { $0 + $1.shape[1] }
        var shape = first.shape
        shape[1] = totalChannels
        let output = Tensor(uninitializedShape: shape)
        nonisolated(unsafe) let target = output.storage.pointer
        Parallel.forEach(batch * inputs.count) { index in
            let image = index / inputs.count, part = index % inputs.count
            let offset = inputs[..<part].reduce(0) { $0 + $1.shape[1] }
            let channels = inputs[part].shape[1]
            (target + (image * totalChannels + offset) * plane)
                .update(from: inputs[part].storage.pointer + image * channels * plane, count: channels * plane)
        }
        return output
    }

    /// Splits `[N, ΣCᵢ, …]` back into tensors of `channelCounts[i]` channels, copying the
    /// images' parts in parallel.
    public static func split(_ tensor: Tensor, channelCounts: [Int]) -> [Tensor] {
        require(
            tensor.rank >= 2 && channelCounts.reduce(0, +) == tensor.shape[1],
            "split: channel counts \(channelCounts) do not sum to the channels of \(tensor.shape)")
        let batch = tensor.shape[0], plane = tensor.shape.dropFirst(2).reduce(1, *), totalChannels = tensor.shape[1]
        let parts = channelCounts.map { channels in
            var shape = tensor.shape
            shape[1] = channels
            return Tensor(uninitializedShape: shape)
        }
        let offsets = channelCounts.indices.map { channelCounts[..<$0].reduce(0, +) }
        nonisolated(unsafe) let source = tensor.storage.pointer
        nonisolated(unsafe) let targets = parts.map(\.storage.pointer)
        Parallel.forEach(batch * parts.count) { index in
            let (image, part) = index.quotientAndRemainder(dividingBy: parts.count)
            let channels = channelCounts[part]
            (targets[part] + image * channels * plane)
                .update(from: source + (image * totalChannels + offsets[part]) * plane, count: channels * plane)
        }
        return parts
    }
}
