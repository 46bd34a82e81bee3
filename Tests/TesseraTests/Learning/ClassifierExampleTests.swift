import Testing
import Tessera

// docs/library.md's examples, verbatim apart from the test wrappers: public API only.

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

/// A custom layer: a learned per-channel scale, `y = x · γ`, with `γ` discovered as
/// the parameter `gamma` because it is a stored `Parameter`.
final class ChannelScale: Module, UnaryLayer {
    let gamma: Parameter

    init(channels: Int) {
        gamma = Parameter(Tensor.ones([1, channels, 1, 1]))
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x * gamma.value }  // broadcasts over N, H, W
}

@Suite("docs/library.md examples")
struct ClassifierExampleTests {
    @Test("the CNN classifier learns the strokes to at least 95 % test accuracy")
    func classifierLearns() {
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
        #expect(accuracy >= 0.95, "test accuracy \(accuracy)")
    }

    @Test("Batches serves every example once per epoch, in a seeded order, with its own target")
    func batches() {
        let images = Tensor(shape: [5, 1], scalars: [0, 1, 2, 3, 4]), labels = [0, 10, 20, 30, 40]
        #expect(Batches(images, labels, size: 2).map(\.targets) == [[0, 10], [20, 30], [40]])
        #expect(Batches(images, labels, size: 2, dropLast: true).count == 2)
        var first = RandomGenerator(seed: 3), second = RandomGenerator(seed: 3)
        let epoch = Batches(images, labels, size: 2, shuffledWith: &first)
        #expect(epoch.order == Batches(images, labels, size: 2, shuffledWith: &second).order)
        #expect(epoch.order.sorted() == [0, 1, 2, 3, 4] && epoch.order != [0, 1, 2, 3, 4])
        #expect(Batches(images, labels, size: 2, shuffledWith: &first).order != epoch.order)
        for (x, y) in epoch { #expect(x.scalars.map { Int($0) * 10 } == y) }
    }

    @Test("a custom layer's parameter is discovered, named and trained")
    func customLayer() {
        var generator = RandomGenerator(seed: 8)
        let model = Sequential([
            Conv2d(inputChannels: 1, outputChannels: 2, kernelSize: 3, padding: 1, generator: &generator), ChannelScale(channels: 2),
        ])
        #expect(model.namedParameters().map(\.0) == ["0.weight", "0.bias", "1.gamma"])
        let x = Tensor.normal([2, 1, 5, 5], using: &generator)
        let (_, gradients) = valueAndGradient(of: model) { $0(x).mean() }
        #expect(gradients["1.gamma"]!.shape == [1, 2, 1, 1])
        #expect(gradients["1.gamma"]!.maximumAbsoluteDifference(to: .zeros([1, 2, 1, 1])) > 0)
    }
}
