import Foundation
import Testing
import Tessera

@Suite("optimizers and schedules")
struct OptimizerTests {
    @Test("an update writes parameters and optimizer state in place, without copy-on-write copies",
          arguments: ["sgd", "adam"])
    func updatesInPlace(kind: String) {
        let optimizer: Optimizer = kind == "sgd" ? SGD(learningRate: 0.05, momentum: 0.9) : Adam(learningRate: 0.01)
        var generator = RandomGenerator(seed: 9)
        let x = Tensor.normal([2, 1, 8, 8], using: &generator)
        let y = Tensor.uniform([2, 1, 8, 8], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let model = TinyEncoderDecoder(generator: &generator)
        func step() {
            let (_, gradients) = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }
            optimizer.update(model, gradients: gradients)
        }
        func addresses() -> [UnsafePointer<Float>?] {
            let parameters = model.trainableParameters().map { $0.1.value }
            let slots = optimizer.state.keys.sorted().flatMap { name in optimizer.state[name]!.keys.sorted().map { optimizer.state[name]![$0]! } }
            return (parameters + slots).map { tensor in tensor.withUnsafeBufferPointer { $0.baseAddress } }
        }
        step()
        let before = addresses()
        step()
        #expect(addresses() == before)
    }

    @Test("saving and restoring optimizer state continues training exactly", arguments: ["sgd", "adam"])
    func resumeIsExact(kind: String) throws {
        func make() -> Optimizer { kind == "sgd" ? SGD(learningRate: 0.05, momentum: 0.9) : Adam(learningRate: 0.01) }
        var generator = RandomGenerator(seed: 7)
        let x = Tensor.normal([2, 1, 8, 8], using: &generator)
        let y = Tensor.uniform([2, 1, 8, 8], using: &generator).map { $0 > 0.5 ? 1 : 0 }
        let initial = TinyEncoderDecoder(generator: &generator).stateDictionary()
        func train(_ model: TinyEncoderDecoder, _ optimizer: Optimizer, steps: Int) {
            for _ in 0..<steps {
                let (_, gradients) = valueAndGradient(of: model) { TinyEncoderDecoder.loss($0(x), y) }
                optimizer.update(model, gradients: gradients)
            }
        }
        var seedGenerator = RandomGenerator(seed: 0)
        let straight = TinyEncoderDecoder(generator: &seedGenerator)
        try straight.load(initial, source: "initial")
        train(straight, make(), steps: 4)

        let interrupted = TinyEncoderDecoder(generator: &seedGenerator)
        try interrupted.load(initial, source: "initial")
        let firstOptimizer = make()
        train(interrupted, firstOptimizer, steps: 2)
        let folder = try Fixtures.temporaryFolder()
        try interrupted.stateDictionary().write(to: folder.appendingPathComponent("model.safetensors"))
        try firstOptimizer.stateDictionary().write(to: folder.appendingPathComponent("optimizer.safetensors"))

        let resumed = TinyEncoderDecoder(generator: &seedGenerator)
        try resumed.load(try SafeTensors.read(from: folder.appendingPathComponent("model.safetensors")), source: "model")
        let secondOptimizer = make()
        try secondOptimizer.load(try SafeTensors.read(from: folder.appendingPathComponent("optimizer.safetensors")), source: "optimizer")
        train(resumed, secondOptimizer, steps: 2)
        for ((name, a), (_, b)) in zip(straight.namedParameters(), resumed.namedParameters()) {
            #expect(a.value == b.value, "\(name)")
        }
    }

    @Test("gradient clipping scales the global norm down to the limit and leaves small gradients alone")
    func clipping() {
        var gradients = Gradients()
        gradients["a"] = Tensor([3, 0])
        gradients["b"] = Tensor([0, 4])
        #expect(gradients.clipGlobalNorm(1) == 5)
        #expect(abs(gradients.globalNorm - 1) < 1e-5)
        let before = gradients["a"]!
        gradients.clipGlobalNorm(10)
        #expect(gradients["a"]! == before)
    }

    @Test("squared norms of long gradients equal a Double sum of squares, per block and in total")
    func squaredNorms() {
        var generator = RandomGenerator(seed: 9)
        var gradients = Gradients()
        gradients["down1.conv.weight"] = Tensor.normal([10_007], using: &generator)
        gradients["up1.conv.weight"] = Tensor.normal([3, 33], using: &generator)
        func reference(_ tensors: [Tensor]) -> Double {
            tensors.flatMap(\.scalars).reduce(0) { $0 + Double($1) * Double($1) }
        }
        let down = reference([gradients["down1.conv.weight"]!]), up = reference([gradients["up1.conv.weight"]!])
        #expect(abs(gradients.squaredNorm(under: "down1") - down) < 1e-5 * down)
        #expect(abs(gradients.squaredNorm(under: "up1") - up) < 1e-5 * up)
        #expect(abs(gradients.squaredNorm() - (down + up)) < 1e-5 * (down + up))
    }

    @Test("step and cosine schedules follow their closed forms")
    func schedules() {
        let step = StepSchedule(base: 1, stepSize: 3, gamma: 0.5)
        #expect((0..<7).map(step.learningRate) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
        let cosine = CosineSchedule(base: 1, length: 4, minimum: 0.1)
        #expect(abs(cosine.learningRate(epoch: 0) - 1) < 1e-6)
        #expect(abs(cosine.learningRate(epoch: 2) - 0.55) < 1e-6)
        #expect(abs(cosine.learningRate(epoch: 9) - 0.1) < 1e-6)
        let poly = PolynomialSchedule(base: 1, length: 10, power: 0.9, warmUp: 2)
        #expect([0, 1].map(poly.learningRate) == [0.5, 1])
        #expect(abs(poly.learningRate(epoch: 5) - pow(0.5, 0.9)) < 1e-6 && poly.learningRate(epoch: 12) == 0)
    }

    @Test("the plateau schedule lowers the rate after `patience` epochs without improvement")
    func plateau() {
        let optimizer = SGD(learningRate: 1)
        var schedule = PlateauSchedule(goal: .maximize, factor: 0.5, patience: 2)
        schedule.apply(to: optimizer, epoch: 0)
        for (epoch, metric) in zip(1..., [Float(0.5), 0.6, 0.6, 0.6]) { schedule.apply(to: optimizer, epoch: epoch, metric: metric) }
        #expect(optimizer.learningRate == 1)
        schedule.apply(to: optimizer, epoch: 5, metric: 0.6)
        #expect(optimizer.learningRate == 0.5)
        schedule.apply(to: optimizer, epoch: 6, metric: 0.9)
        #expect(optimizer.learningRate == 0.5 && schedule.best == 0.9)
    }

    @Test("every schedule is applied through one protocol")
    func schedulesShareOneProtocol() {
        let optimizer = Adam(learningRate: 1)
        var schedules: [any LearningRateSchedule] = [
            StepSchedule(base: 2, stepSize: 1, gamma: 0.5), CosineSchedule(base: 2, length: 2),
            PolynomialSchedule(base: 2, length: 2, power: 1), PlateauSchedule(goal: .minimize, patience: 0),
        ]
        var rates: [[Float]] = []
        for index in schedules.indices {
            optimizer.learningRate = 1
            rates.append((0..<3).map { epoch in
                schedules[index].apply(to: optimizer, epoch: epoch, metric: epoch == 0 ? nil : 1)
                return (optimizer.learningRate * 1e5).rounded() / 1e5
            })
        }
        #expect(rates == [[2, 1, 0.5], [2, 1, 0], [2, 1, 0], [1, 1, 0.1]])
    }
}
