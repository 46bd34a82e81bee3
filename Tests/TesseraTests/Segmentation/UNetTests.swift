import Foundation
import Testing
import Tessera
import TesseraSegmentation

@Suite("U-Net against the PyTorch reference")
struct UNetTests {
    @Test("parameter names and shapes equal the PyTorch reference's state_dict",
          arguments: [("w8_d3", 8, 3, false), ("w16_d4", 16, 4, false), ("w8_d3_bilinear", 8, 3, true)])
    func parameterNamesAndShapes(key: String, width: Int, depth: Int, bilinear: Bool) throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url("unet_parameters.json"))) as! [String: [[Any]]]
        let expected = json[key]!.map { "\($0[0] as! String) \($0[1] as! [Int])" }
        var generator = RandomGenerator(seed: 1)
        let model = UNet(UNetConfiguration(width: width, depth: depth, bilinear: bilinear), generator: &generator)
        let parameters = model.namedParameters().map { ($0.0, $0.1.value.shape) } + model.allCounters().map { ($0.0, [Int]()) }
        #expect(Set(parameters.map { "\($0.0) \($0.1)" }) == Set(expected))
        #expect(parameters.count == expected.count)
    }

    @Test("forward (eval and train mode), loss and one SGD step equal PyTorch's on an odd-sized input",
          arguments: ["unet.safetensors", "unet_bilinear.safetensors"])
    func forwardAndOneStep(file: String) throws {
        let reference = try Fixtures.load(file)
        let bilinear = file.contains("bilinear")
        var generator = RandomGenerator(seed: 0)
        let model = UNet(UNetConfiguration(classes: bilinear ? 2 : 1, width: 4, depth: 3, bilinear: bilinear), generator: &generator)
        try model.load(reference.withPrefix("initial"), source: file)
        let x = try reference.tensor("input")
        model.eval()
        expectMatchesReference(model(x), try reference.tensor("eval_output"), "\(file) eval output")
        model.train()
        let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
        let (loss, gradients) = valueAndGradient(of: model) { model in
            let logits = model(x)
            expectMatchesReference(logits.detached(), try! reference.tensor("train_output"), "\(file) train output")
            if bilinear {
                return crossEntropy(logits, reference.integerTensors["target"]!.values.map { Int32($0) })
            }
            return binaryCrossEntropyWithLogits(logits, try! reference.tensor("target"))
        }
        expectMatchesReference(loss.reshaped([1]), try reference.tensor("loss"), "\(file) loss")
        optimizer.update(model, gradients: gradients)
        let stepped = reference.withPrefix("stepped")
        for (name, parameter) in model.namedParameters() {
            expectMatchesReference(parameter.value, try stepped.tensor(name), "\(file) stepped \(name)", absoluteTolerance: 2e-5)
        }
    }
}
