// docs/library.md's classifier, verbatim; the first and last lines let ExamplePackageTests
// check it.
import Foundation
import Tessera

/// A small CNN classifier: two convolution + pooling stages, then a linear layer.
final class StrokeClassifier: Module, UnaryLayer {
    let features: Sequential
    let classifier: Linear

    init(classes: Int, generator: inout RandomGenerator) {
        features = Sequential([
            Conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, padding: 1, generator: &generator), ReLU(), MaxPool2d(kernelSize: 2),
            Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 3, padding: 1, generator: &generator), ReLU(), MaxPool2d(kernelSize: 2),
            Flatten(),
        ])
        classifier = Linear(inputFeatures: 16 * 2 * 2, outputFeatures: classes, generator: &generator)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { classifier(features(x)) }
}

/// 8×8 images of one noisy stroke: a row (class 0), a column (1) or the diagonal (2).
func strokes(_ count: Int, using generator: inout RandomGenerator) -> (images: Tensor, labels: [Int]) {
    var pixels = [Float](repeating: 0, count: count * 64)
    var labels: [Int] = []
    for sample in 0..<count {
        let label = Int(generator.next() % 3), offset = Int(generator.next() % 8)
        for i in 0..<8 {
            let (row, column) = label == 0 ? (offset, i) : label == 1 ? (i, offset) : (i, i)
            pixels[sample * 64 + row * 8 + column] = 1
        }
        for p in 0..<64 { pixels[sample * 64 + p] += 0.3 * generator.nextStandardNormal() }
        labels.append(label)
    }
    return (Tensor(shape: [count, 1, 8, 8], scalars: pixels), labels)
}

var generator = RandomGenerator(seed: 7)
let model = StrokeClassifier(classes: 3, generator: &generator)
let (trainImages, trainLabels) = strokes(240, using: &generator)
let (testImages, testLabels) = strokes(120, using: &generator)
let optimizer = Adam(learningRate: 1e-2)

for _ in 0..<8 {
    for (images, labels) in Batches(trainImages, trainLabels, size: 32, shuffledWith: &generator) {
        let (_, gradients) = valueAndGradient(of: model) { model in crossEntropy(model(images), labels) }
        optimizer.update(model, gradients: gradients)
    }
}
model.eval()
let predicted = model(testImages).argmax(alongAxis: 1)
let accuracy = Double(zip(predicted, testLabels).filter { $0 == $1 }.count) / Double(testLabels.count)
print("test accuracy \(accuracy)")   // at least 0.95 (ExamplePackageTests checks it)

if accuracy < 0.95 {
    print("the classifier did not learn: test accuracy \(accuracy), expected at least 0.95")
    exit(1)
}
