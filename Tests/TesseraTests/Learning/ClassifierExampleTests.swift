import Testing
import Tessera

// docs/library.md's custom layer, verbatim apart from the test wrapper, and `Batches`; the
// classifier is a program of Examples/ (ExamplePackageTests).

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
