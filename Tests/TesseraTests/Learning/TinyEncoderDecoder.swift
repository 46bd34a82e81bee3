import Tessera

/// The two-level encoder-decoder with a skip connection that `scripts/make_fixtures.py`
/// builds in PyTorch (same structure, same parameter names).
final class TinyEncoderDecoder: Module {
    let enc: Sequential
    let down: Sequential
    let up: ConvTranspose2d
    let dec: Sequential
    let out: Conv2d

    init(generator: inout RandomGenerator) {
        enc = Sequential([
            Conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, padding: 1, generator: &generator),
            BatchNorm2d(features: 4), ReLU(),
        ])
        down = Sequential([
            MaxPool2d(kernelSize: 2),
            Conv2d(inputChannels: 4, outputChannels: 8, kernelSize: 3, padding: 1, generator: &generator),
            BatchNorm2d(features: 8), ReLU(),
        ])
        up = ConvTranspose2d(inputChannels: 8, outputChannels: 4, kernelSize: 2, stride: 2, generator: &generator)
        dec = Sequential([Conv2d(inputChannels: 8, outputChannels: 4, kernelSize: 3, padding: 1, generator: &generator), ReLU()])
        out = Conv2d(inputChannels: 4, outputChannels: 1, kernelSize: 1, generator: &generator)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let skip = enc(x)
        return out(dec(concatenate([skip, up(down(skip))])))
    }

    /// BCE-with-logits plus soft Dice on the sigmoid.
    static func loss(_ logits: Tensor, _ target: Tensor) -> Tensor {
        binaryCrossEntropyWithLogits(logits, target) + softDiceLoss(sigmoid(logits), target)
    }
}
