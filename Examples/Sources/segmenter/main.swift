// README.md's library example, verbatim; the last lines let ExamplePackageTests check it.
import Foundation
import Tessera

/// A small fully convolutional segmenter: two 3×3 convolutions and a 1×1 classifier.
final class TinySegmenter: Module {
    let features: Sequential
    let classifier: Conv2d

    init(generator: inout RandomGenerator) {
        features = Sequential([
            Conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, padding: 1, generator: &generator),
            BatchNorm2d(features: 8), ReLU(),
            Conv2d(inputChannels: 8, outputChannels: 8, kernelSize: 3, padding: 1, generator: &generator), ReLU(),
        ])
        classifier = Conv2d(inputChannels: 8, outputChannels: 1, kernelSize: 1, generator: &generator)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { classifier(features(x)) }
}

var generator = RandomGenerator(seed: 42)
let model = TinySegmenter(generator: &generator)
let images = Tensor.uniform([4, 1, 32, 32], using: &generator)
let masks = images.map { $0 > 0.5 ? 1 : 0 }  // learn to threshold
let optimizer = Adam(learningRate: 1e-2)

for step in 1...100 {
    let (loss, gradients) = valueAndGradient(of: model) { model in
        let logits = model(images)
        return binaryCrossEntropyWithLogits(logits, masks) + softDiceLoss(sigmoid(logits), masks)
    }
    optimizer.update(model, gradients: gradients)
    if step % 20 == 0 { print("step \(step): loss \(loss.scalar)") }
}
try model.stateDictionary().write(to: URL(fileURLWithPath: "tiny.safetensors"))
