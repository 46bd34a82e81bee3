import Testing
import Tessera
import TesseraSegmentation

@Suite("explain: encoder learning and filters versus dense nodes")
struct ExplainTests {
    @Test("a frozen encoder's weights do not move at all; end to end, every encoder block gets gradients and moves")
    func encoderExperiment() {
        let training = SyntheticShapes.generate(count: 8, size: 32, seed: 1)
        let validation = SyntheticShapes.generate(count: 2, size: 32, seed: 2)
        let experiment = EncoderExperiment(
            training: training, validation: validation, configuration: UNetConfiguration(width: 4, depth: 2), steps: 6, batchSize: 2)
        let (endToEnd, frozen) = experiment.run()
        for block in frozen.blocks where block.part == "encoder" {
            #expect(block.relativeWeightChange == 0 && block.meanGradientNorm == 0, "\(block.name)")
        }
        for block in endToEnd.blocks {
            #expect(block.meanGradientNorm > 0 && block.relativeWeightChange > 0, "\(block.name)")
        }
        #expect(endToEnd.blocks.map(\.name) == ["inc", "down1", "down2", "up1", "up2", "outc"])
        #expect(frozen.blocks.filter { $0.part == "decoder" }.allSatisfy { $0.relativeWeightChange > 0 })
    }

    @Test("on outlined shapes, whose insides need context to be told apart, end to end clearly beats a frozen encoder")
    func encoderMattersOnOutlinedShapes() {
        let training = SyntheticShapes.generate(count: 32, size: 64, style: .outlined, seed: 1)
        let validation = SyntheticShapes.generate(count: 8, size: 64, style: .outlined, seed: 2)
        let experiment = EncoderExperiment(
            training: training, validation: validation, configuration: UNetConfiguration(width: 8, depth: 3), steps: 120)
        let (endToEnd, frozen) = experiment.run()
        #expect(endToEnd.validationDice > frozen.validationDice + 0.05, "Dice \(endToEnd.validationDice) vs \(frozen.validationDice)")
        #expect(endToEnd.validationLoss < frozen.validationLoss)
    }

    @Test("a convolution is translation equivariant; a dense layer of the same size is not")
    func equivariance() {
        var generator = RandomGenerator(seed: 3)
        let conv = Conv2d(inputChannels: 1, outputChannels: 4, kernelSize: 3, padding: 1, generator: &generator)
        let dense = Linear(inputFeatures: 16 * 16, outputFeatures: 4 * 16 * 16, generator: &generator)
        let x = Tensor.uniform([1, 1, 16, 16], using: &generator)
        let convError = FilterAnalysis.equivarianceError(of: { conv($0) }, input: x, shift: 2, margin: 2)
        let denseError = FilterAnalysis.equivarianceError(
            of: { dense($0.reshaped([1, 256])).reshaped([1, 4, 16, 16]) }, input: x, shift: 2, margin: 2)
        #expect(convError < 1e-5)
        #expect(denseError > 0.05)
    }

    @Test("the measured receptive field of every encoder block equals the computed one")
    func receptiveFields() {
        var generator = RandomGenerator(seed: 4)
        let model = UNet(UNetConfiguration(width: 4, depth: 2), generator: &generator)
        let computed = ModelSummary(configuration: model.configuration, inputSize: 96)
        let measured = FilterAnalysis.measuredReceptiveFields(of: model, size: 96)
        #expect(measured.map(\.0) == ["inc", "down1", "down2"])
        for (name, field) in measured {
            #expect(field == computed.layers.filter { $0.name.hasPrefix(name + ".") }.last!.receptiveField, "\(name)")
        }
    }

    @Test("one SGD step of a conv equals the tied-weight update of its unrolled dense twin")
    func sameLearningRule() {
        let step = FilterAnalysis.convolutionVersusDenseStep()
        #expect(step.outputDifference < 1e-3)
        #expect(step.tiedUpdateDifference < 1e-5)
        #expect(step.untiedUpdateDifference > 1e-2)
    }
}
