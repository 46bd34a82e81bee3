import Testing
import Tessera

@Suite("small models learn")
struct LearningTests {
    @Test("a two-layer MLP solves XOR")
    func xor() {
        var generator = RandomGenerator(seed: 1)
        let model = Sequential([
            Linear(inputFeatures: 2, outputFeatures: 8, generator: &generator), ReLU(),
            Linear(inputFeatures: 8, outputFeatures: 1, generator: &generator),
        ])
        let x = Tensor(shape: [4, 2], scalars: [0, 0, 0, 1, 1, 0, 1, 1])
        let y = Tensor(shape: [4, 1], scalars: [0, 1, 1, 0])
        let optimizer = Adam(learningRate: 0.05)
        for _ in 0..<300 {
            let (_, gradients) = valueAndGradient(of: model) { binaryCrossEntropyWithLogits($0(x), y) }
            optimizer.update(model, gradients: gradients)
        }
        let predictions = Activation.sigmoid(model(x)).scalars.map { $0 > 0.5 ? Float(1) : 0 }
        #expect(predictions == [0, 1, 1, 0])
    }

    /// Images of horizontal stripes (class 0) or vertical stripes (class 1) with random
    /// phase and noise.
    static func textures(count: Int, using generator: inout RandomGenerator) -> (Tensor, [Int32]) {
        var images = Tensor.zeros([count, 1, 12, 12])
        var labels: [Int32] = []
        for index in 0..<count {
            let vertical = index % 2 == 1
            let phase = Int(generator.nextUnitFloat() * 4)
            for row in 0..<12 {
                for column in 0..<12 {
                    let stripe = ((vertical ? column : row) + phase) % 4 < 2 ? Float(1) : 0
                    images[index, 0, row, column] = stripe + 0.3 * generator.nextStandardNormal()
                }
            }
            labels.append(vertical ? 1 : 0)
        }
        return (images, labels)
    }

    @Test("a three-layer CNN separates two synthetic textures")
    func textures() {
        var generator = RandomGenerator(seed: 2)
        let features = Sequential([
            Conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, padding: 1, generator: &generator), ReLU(),
            MaxPool2d(kernelSize: 2),
            Conv2d(inputChannels: 4, outputChannels: 8, kernelSize: 3, padding: 1, generator: &generator), ReLU(),
            MaxPool2d(kernelSize: 2),
            Conv2d(inputChannels: 8, outputChannels: 2, kernelSize: 3, padding: 1, generator: &generator),
        ])
        let (train, trainLabels) = Self.textures(count: 32, using: &generator)
        let (test, testLabels) = Self.textures(count: 32, using: &generator)
        // The 3×3 output map is averaged into one logit per class.
        func logits(_ images: Tensor) -> Tensor {
            features(images).reshaped([images.shape[0], 2, 9]).reshaped([images.shape[0] * 2, 9])
                .matmul(Tensor.full([9, 1], value: 1.0 / 9)).reshaped([images.shape[0], 2])
        }
        let optimizer = Adam(learningRate: 0.02)
        for _ in 0..<60 {
            let (_, gradients) = valueAndGradient(of: features) { _ in crossEntropy(logits(train), trainLabels) }
            optimizer.update(features, gradients: gradients)
        }
        let scores = logits(test)
        let correct = (0..<32).filter { (scores[$0, 1] > scores[$0, 0] ? Int32(1) : 0) == testLabels[$0] }.count
        #expect(correct >= 30, "\(correct)/32 correct")
    }
}
