import Tessera

/// The U-Net of Ronneberger et al. as milesial/Pytorch-UNet builds it, generalised to any
/// base width and depth, assembled from public Tessera layers.
///
/// Parameter names and layouts equal Pytorch-UNet's `UNet` (`inc.double_conv.0.weight`,
/// `down1.maxpool_conv.1.double_conv.…`, `up1.up.weight`, `up1.conv.double_conv.…`,
/// `outc.conv.weight`), so its checkpoints load into that model and back.
public final class UNet: Module, UnaryLayer {
    public let configuration: UNetConfiguration
    public let inc: DoubleConv
    /// `down1 … downD`: the encoder's steps.
    public let downs: [Down]
    /// `up1 … upD`: the decoder's steps, deepest first.
    public let ups: [Up]
    public let outc: OutConv

    public init(_ configuration: UNetConfiguration, generator: inout RandomGenerator) {
        require(configuration.problem == nil, "UNet: \(configuration.problem ?? "")")
        self.configuration = configuration
        let (w, d) = (configuration.width, configuration.depth)
        let factor = configuration.bilinear ? 2 : 1
        inc = DoubleConv(inputChannels: configuration.inputChannels, outputChannels: w, generator: &generator)
        downs = (1...d).map { level in
            Down(inputChannels: w << (level - 1), outputChannels: (w << level) / (level == d ? factor : 1), generator: &generator)
        }
        ups = (1...d).map { step in
            let input = w << (d - step + 1)
            return Up(
                inputChannels: input, outputChannels: (w << (d - step)) / (step == d ? 1 : factor),
                bilinear: configuration.bilinear, generator: &generator)
        }
        outc = OutConv(inputChannels: w, outputChannels: configuration.classes, generator: &generator)
    }

    public override func namedChildren() -> [(String, Module)] {
        [("inc", inc)] + downs.enumerated().map { ("down\($0.offset + 1)", $0.element) }
            + ups.enumerated().map { ("up\($0.offset + 1)", $0.element) } + [("outc", outc)]
    }

    /// The encoder's blocks by name: `inc`, `down1` … `downD` (the last is the bottleneck).
    public var encoderBlocks: [(String, Module)] {
        Array(namedChildren().prefix(1 + downs.count))
    }

    /// The decoder's blocks by name: `up1` … `upD`, `outc`.
    public var decoderBlocks: [(String, Module)] {
        Array(namedChildren().dropFirst(1 + downs.count))
    }

    /// Logits `[N, classes, H, W]` for images `[N, inputChannels, H, W]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(
            input.rank == 4 && input.shape[1] == configuration.inputChannels,
            "UNet: input \(input.shape) needs [N, \(configuration.inputChannels), H, W]")
        var skips = [inc(input)]
        for down in downs { skips.append(down(skips[skips.count - 1])) }
        var x = skips.removeLast()
        for up in ups { x = up(x, skip: skips.removeLast()) }
        return outc(x)
    }
}
