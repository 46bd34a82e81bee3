import Tessera

/// (3×3 conv without bias → batch norm → ReLU) × 2, Pytorch-UNet's `DoubleConv`
/// (`double_conv.{0,1,3,4}.*`).
public final class DoubleConv: Module, UnaryLayer {
    public let firstConvolution: Conv2d
    public let firstNormalization: BatchNorm2d
    public let secondConvolution: Conv2d
    public let secondNormalization: BatchNorm2d

    public init(inputChannels: Int, outputChannels: Int, middleChannels: Int? = nil, generator: inout RandomGenerator) {
        let middle = middleChannels ?? outputChannels
        firstConvolution = Conv2d(
            inputChannels: inputChannels, outputChannels: middle, kernelSize: 3, padding: 1, bias: false, generator: &generator)
        firstNormalization = BatchNorm2d(features: middle)
        secondConvolution = Conv2d(
            inputChannels: middle, outputChannels: outputChannels, kernelSize: 3, padding: 1, bias: false, generator: &generator)
        secondNormalization = BatchNorm2d(features: outputChannels)
    }

    /// PyTorch's names: the layers of its `nn.Sequential` (the ReLUs, 2 and 5, hold nothing).
    public override func namedChildren() -> [(String, Module)] {
        [("double_conv.0", firstConvolution), ("double_conv.1", firstNormalization),
         ("double_conv.3", secondConvolution), ("double_conv.4", secondNormalization)]
    }

    /// Convolution, then batch norm with its ReLU fused (the same result as
    /// `relu(batchNorm(conv(x)))`, with less memory traffic; in evaluation mode folded
    /// into the convolution), twice.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        let middle = firstConvolution(input, normalizedBy: firstNormalization, rectify: true)
        return secondConvolution(middle, normalizedBy: secondNormalization, rectify: true)
    }
}

/// 2×2 max pooling then ``DoubleConv``: one encoder step (`maxpool_conv.1.double_conv.*`).
public final class Down: Module, UnaryLayer {
    public let maxpoolConv: Sequential

    public init(inputChannels: Int, outputChannels: Int, generator: inout RandomGenerator) {
        maxpoolConv = Sequential([
            MaxPool2d(kernelSize: 2),
            DoubleConv(inputChannels: inputChannels, outputChannels: outputChannels, generator: &generator),
        ])
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { maxpoolConv(input) }
}

/// One decoder step: up-sample (2×2 transposed convolution halving the channels, or
/// bilinear), zero-pad to the skip connection's size, concatenate `[skip, upsampled]`,
/// then ``DoubleConv`` (`up.*`, `conv.double_conv.*`).
public final class Up: Module {
    public let up: any UnaryLayer
    public let conv: DoubleConv

    public init(inputChannels: Int, outputChannels: Int, bilinear: Bool, generator: inout RandomGenerator) {
        if bilinear {
            up = Upsample(factor: 2)
            conv = DoubleConv(
                inputChannels: inputChannels, outputChannels: outputChannels, middleChannels: inputChannels / 2,
                generator: &generator)
        } else {
            up = ConvTranspose2d(
                inputChannels: inputChannels, outputChannels: inputChannels / 2, kernelSize: 2, stride: 2, generator: &generator)
            conv = DoubleConv(inputChannels: inputChannels, outputChannels: outputChannels, generator: &generator)
        }
    }

    public override func namedChildren() -> [(String, Module)] {
        [("up", up), ("conv", conv)]
    }

    public func callAsFunction(_ input: Tensor, skip: Tensor) -> Tensor {
        let upsampled = up(input)
        let amounts = SpatialPadding.Amounts(
            centering: Size2D(upsampled.shape[2], upsampled.shape[3]), in: Size2D(skip.shape[2], skip.shape[3]))
        return conv(concatenate([skip, pad(upsampled, amounts)]))
    }
}

/// The final 1×1 convolution to class logits (`conv.weight`, `conv.bias`).
public final class OutConv: Module, UnaryLayer {
    public let conv: Conv2d

    public init(inputChannels: Int, outputChannels: Int, generator: inout RandomGenerator) {
        conv = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: 1, generator: &generator)
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { conv(input) }
}
