import Foundation
import Testing
import Tessera

@Suite("modules, parameters and checkpoints")
struct ModuleTests {
    @Test("parameters are discovered with PyTorch's dotted names, in definition order")
    func parameterNames() {
        var generator = RandomGenerator(seed: 1)
        let model = TinyEncoderDecoder(generator: &generator)
        #expect(model.namedParameters().map(\.0) == [
            "enc.0.weight", "enc.0.bias", "enc.1.weight", "enc.1.bias", "enc.1.running_mean", "enc.1.running_var",
            "down.1.weight", "down.1.bias", "down.2.weight", "down.2.bias", "down.2.running_mean", "down.2.running_var",
            "up.weight", "up.bias", "dec.0.weight", "dec.0.bias", "out.weight", "out.bias",
        ])
        #expect(model.allCounters().map(\.0) == ["enc.1.num_batches_tracked", "down.2.num_batches_tracked"])
        #expect(!model.trainableParameters().map(\.0).contains("enc.1.running_var"))
        #expect(model.trainableParameterCount == 4 * 9 + 4 + 8 + 8 * 36 + 8 + 16 + 8 * 4 * 4 + 4 + 8 * 36 + 4 + 4 + 1)
    }

    @Test("a state dictionary round-trips through safetensors and reproduces the outputs")
    func stateDictionaryRoundTrip() throws {
        var generator = RandomGenerator(seed: 2)
        let model = TinyEncoderDecoder(generator: &generator)
        let x = Tensor.normal([2, 1, 8, 8], using: &generator)
        _ = model(x)  // moves running statistics and counters
        model.eval()
        let url = try Fixtures.temporaryFolder().appendingPathComponent("tiny.safetensors")
        try model.stateDictionary().write(to: url)
        let copy = TinyEncoderDecoder(generator: &generator)
        try copy.load(try SafeTensors.read(from: url), source: url.path)
        copy.eval()
        #expect(copy(x) == model(x))
        #expect(copy.enc.namedChildren().count == 3)
    }

    @Test("loading names every missing, unexpected and mis-shaped tensor, and changes nothing")
    func loadingErrors() throws {
        var generator = RandomGenerator(seed: 3)
        let model = TinyEncoderDecoder(generator: &generator)
        var dictionary = model.stateDictionary()
        dictionary.tensors["out.bias"] = nil
        dictionary.tensors["extra.weight"] = Tensor.zeros([1])
        dictionary.tensors["up.weight"] = Tensor.zeros([4, 8, 2, 2])
        let before = model.up.weight.value
        #expect {
            try model.load(dictionary, source: "bad.safetensors")
        } throws: { error in
            guard let error = error as? ModuleLoadingError else { return false }
            return error.missing == ["out.bias"] && error.unexpected == ["extra.weight"]
                && error.shapeMismatches == [.init(name: "up.weight", expected: [8, 4, 2, 2], found: [4, 8, 2, 2])]
                && error.description.contains("bad.safetensors")
        }
        #expect(model.up.weight.value == before)
    }

    @Test("eval mode uses running statistics; train mode updates them")
    func trainAndEvalModes() {
        var generator = RandomGenerator(seed: 4)
        let norm = BatchNorm2d(features: 2)
        let x = Tensor.normal([4, 2, 3, 3], mean: 5, using: &generator)
        _ = norm(x)
        #expect(norm.numBatchesTracked.value == 1)
        #expect(abs(norm.runningMean.value[0] - 0.5) < 0.1)
        norm.eval()
        let before = norm.runningMean.value
        _ = norm(x)
        #expect(norm.runningMean.value == before && norm.numBatchesTracked.value == 1)
    }

    @Test("initialisers follow PyTorch's bounds and orthogonal weights are orthonormal")
    func initialisers() throws {
        var generator = RandomGenerator(seed: 5)
        let conv = Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 3, generator: &generator)
        let bound = 1 / Float(72).squareRoot()
        #expect(conv.weight.value.max().scalar <= bound && conv.weight.value.map { -$0 }.max().scalar <= bound)
        #expect(conv.weight.value.max().scalar > 0.9 * bound)
        let up = ConvTranspose2d(inputChannels: 8, outputChannels: 4, kernelSize: 2, stride: 2, generator: &generator)
        #expect(up.weight.value.max().scalar <= 1 / Float(16).squareRoot())
        let normal = Initializer.kaimingNormal([256, 64, 3, 3], using: &generator)
        let std = ((normal * normal).mean().scalar).squareRoot()
        #expect(abs(std - (2 / Float(576)).squareRoot()) < 0.002)
        let xavier = Initializer.xavierUniform([100, 50], using: &generator)
        #expect(xavier.max().scalar <= (6 / Float(150)).squareRoot())
        let xavierNormal = Initializer.xavierNormal([200, 100], using: &generator)
        #expect(abs(((xavierNormal * xavierNormal).mean().scalar).squareRoot() - (2 / Float(300)).squareRoot()) < 0.003)
        let orthogonal = try Initializer.orthogonal([6, 10], using: &generator)
        var identity = Tensor.zeros([6, 6])
        for i in 0..<6 { identity[i, i] = 1 }
        #expect(orthogonal.matmul(orthogonal.transposed()).maximumAbsoluteDifference(to: identity) < 1e-5)
    }

    @Test("dropout zeroes about p of the elements in training and nothing in eval")
    func dropoutModes() {
        let layer = Dropout(probability: 0.25, seed: 9)
        let output = layer(Tensor.ones([10_000]))
        let zeros = output.scalars.filter { $0 == 0 }.count
        #expect(abs(zeros - 2500) < 200)
        #expect(output.scalars.allSatisfy { $0 == 0 || abs($0 - 4.0 / 3.0) < 1e-6 })
        layer.eval()
        #expect(layer(Tensor.ones([10])) == Tensor.ones([10]))
    }
}
