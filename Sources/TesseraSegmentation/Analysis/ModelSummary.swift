/// One row of a model summary: a layer, what it produces, what it costs, how far it sees,
/// and what a dense layer between the same tensors would cost.
public struct LayerSummary: Equatable, Sendable {
    /// The layer's dotted name (as its parameters are named).
    public let name: String
    /// What it does, e.g. `conv 3×3`, `max-pool 2×2`, `up-conv 2×2`.
    public let kind: String
    /// `[C, H, W]` of its input and output for one image.
    public let inputShape: [Int]
    public let outputShape: [Int]
    /// Learned weights (convolution or transposed-convolution weights and biases).
    public let parameters: Int
    /// Multiply-accumulates per image.
    public let multiplyAccumulates: Int
    /// Side of the square of input-image pixels that one output pixel depends on.
    public let receptiveField: Int
    /// Distance in input-image pixels between neighbouring output pixels.
    public let jump: Int

    /// Weights of a fully connected layer from the same input tensor to the same output
    /// tensor: every output value with its own weight for every input value, plus a bias.
    public var denseEquivalentParameters: Int {
        let inputs = inputShape.reduce(1, *), outputs = outputShape.reduce(1, *)
        return inputs * outputs + outputs
    }
}

/// The layer-by-layer anatomy of a U-Net for one input size, computed from its
/// configuration: shapes, parameters, MACs, receptive fields and dense equivalents.
public struct ModelSummary: Sendable {
    public let configuration: UNetConfiguration
    public let inputSize: Int
    public let layers: [LayerSummary]
    /// All trainable weights, batch-norm γ and β included.
    public let totalParameters: Int

    public init(configuration: UNetConfiguration, inputSize: Int) {
        self.configuration = configuration
        self.inputSize = inputSize
        var layers: [LayerSummary] = []
        var batchNormParameters = 0
        // (channels, side, receptive field, jump) of the tensor flowing through.
        typealias Flow = (channels: Int, side: Int, field: Int, jump: Int)
        func conv(_ name: String, _ input: Flow, outputChannels: Int, kernel: Int, bias: Bool) -> Flow {
            let output: Flow = (outputChannels, input.side, input.field + (kernel - 1) * input.jump, input.jump)
            let weights = outputChannels * input.channels * kernel * kernel + (bias ? outputChannels : 0)
            layers.append(LayerSummary(
                name: name, kind: "conv \(kernel)×\(kernel)", inputShape: [input.channels, input.side, input.side],
                outputShape: [output.channels, output.side, output.side], parameters: weights,
                multiplyAccumulates: outputChannels * input.channels * kernel * kernel * output.side * output.side,
                receptiveField: output.field, jump: output.jump))
            if !bias { batchNormParameters += 2 * outputChannels }
            return output
        }
        func doubleConv(_ name: String, _ input: Flow, outputChannels: Int, middle: Int? = nil) -> Flow {
            let first = conv("\(name).double_conv.0", input, outputChannels: middle ?? outputChannels, kernel: 3, bias: false)
            return conv("\(name).double_conv.3", first, outputChannels: outputChannels, kernel: 3, bias: false)
        }
        let (w, d) = (configuration.width, configuration.depth)
        let factor = configuration.bilinear ? 2 : 1
        var flow = doubleConv("inc", (configuration.inputChannels, inputSize, 1, 1), outputChannels: w)
        var skips = [flow]
        for level in 1...d {
            let pooled: Flow = (flow.channels, flow.side / 2, flow.field + flow.jump, flow.jump * 2)
            layers.append(LayerSummary(
                name: "down\(level).maxpool_conv.0", kind: "max-pool 2×2", inputShape: [flow.channels, flow.side, flow.side],
                outputShape: [pooled.channels, pooled.side, pooled.side], parameters: 0, multiplyAccumulates: 0,
                receptiveField: pooled.field, jump: pooled.jump))
            flow = doubleConv("down\(level).maxpool_conv.1", pooled, outputChannels: (w << level) / (level == d ? factor : 1))
            skips.append(flow)
        }
        skips.removeLast()
        for step in 1...d {
            let skip = skips.removeLast()
            let inputChannels = w << (d - step + 1)
            let upChannels = configuration.bilinear ? flow.channels : inputChannels / 2
            // A 2×2 stride-2 transposed convolution reads one input pixel per output pixel;
            // bilinear interpolation reads two neighbours, one input step apart.
            let up: Flow = (upChannels, skip.side, flow.field + (configuration.bilinear ? flow.jump : 0), flow.jump / 2)
            let upWeights = configuration.bilinear ? 0 : flow.channels * upChannels * 4 + upChannels
            layers.append(LayerSummary(
                name: "up\(step).up", kind: configuration.bilinear ? "bilinear ×2" : "up-conv 2×2",
                inputShape: [flow.channels, flow.side, flow.side], outputShape: [upChannels, up.side, up.side],
                parameters: upWeights, multiplyAccumulates: configuration.bilinear ? 0 : flow.channels * upChannels * 4 * flow.side * flow.side,
                receptiveField: up.field, jump: up.jump))
            let joined: Flow = (skip.channels + upChannels, skip.side, max(skip.field, up.field), up.jump)
            let outputChannels = (w << (d - step)) / (step == d ? 1 : factor)
            flow = doubleConv("up\(step).conv", joined, outputChannels: outputChannels, middle: configuration.bilinear ? inputChannels / 2 : nil)
        }
        _ = conv("outc.conv", flow, outputChannels: configuration.classes, kernel: 1, bias: true)
        self.layers = layers
        totalParameters = layers.reduce(0) { $0 + $1.parameters } + batchNormParameters
    }

    /// Multiply-accumulates of one forward pass of one image.
    public var multiplyAccumulates: Int { layers.reduce(0) { $0 + $1.multiplyAccumulates } }

    /// Bytes of all layer outputs of one forward pass of one image (float32).
    public var activationBytes: Int { layers.reduce(0) { $0 + $1.outputShape.reduce(1, *) } * 4 }

    /// The receptive field of the model's output pixels.
    public var receptiveField: Int { layers.last?.receptiveField ?? 1 }
}
