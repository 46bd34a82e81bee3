import Tessera

extension UNetConfiguration {
    /// The configuration of a Pytorch-UNet state_dict, read from its tensor names and
    /// shapes: input channels and width from `inc.double_conv.0.weight` `[w, C, 3, 3]`,
    /// depth from the `downN` blocks, classes from `outc.conv.weight`, transposed or
    /// bilinear up-sampling from whether `up1.up.weight` exists.
    ///
    /// - Throws: ``CheckpointError`` naming the first tensor that does not fit a U-Net.
    public static func inferred(from file: SafeTensors, path: String) throws -> UNetConfiguration {
        func shape(_ name: String) throws -> [Int] {
            guard let tensor = file.tensors[name] else {
                let present = file.tensors.keys.sorted().prefix(3).joined(separator: ", ")
                throw CheckpointError(
                    path: path, reason: "no tensor \(name), so not a Pytorch-UNet state_dict (it holds \(present)\(file.tensors.count > 3 ? ", …" : ""))")
            }
            return tensor.shape
        }
        let first = try shape("inc.double_conv.0.weight")
        guard first.count == 4, first[2] == 3, first[3] == 3 else {
            throw CheckpointError(path: path, reason: "inc.double_conv.0.weight has shape \(first), expected [width, channels, 3, 3]")
        }
        var depth = 0
        while file.tensors["down\(depth + 1).maxpool_conv.1.double_conv.0.weight"] != nil { depth += 1 }
        guard depth >= 1 else { _ = try shape("down1.maxpool_conv.1.double_conv.0.weight"); return UNetConfiguration() }
        let output = try shape("outc.conv.weight")
        guard output.count == 4, output[1] == first[0], output[2] == 1, output[3] == 1 else {
            throw CheckpointError(path: path, reason: "outc.conv.weight has shape \(output), expected [classes, \(first[0]), 1, 1]")
        }
        let configuration = UNetConfiguration(
            inputChannels: first[1], classes: output[0], width: first[0], depth: depth,
            bilinear: file.tensors["up1.up.weight"] == nil)
        if let problem = configuration.problem {
            throw CheckpointError(path: path, reason: "its tensors describe an unusable U-Net: \(problem)")
        }
        return configuration
    }
}
