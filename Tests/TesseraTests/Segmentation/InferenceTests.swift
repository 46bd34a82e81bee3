import Foundation
import Testing
import Tessera
import TesseraSegmentation

@Suite("prediction, probabilities file and model summary")
struct InferenceTests {
    static func smallModel(depth: Int = 2) -> UNet {
        var generator = RandomGenerator(seed: 3)
        let model = UNet(UNetConfiguration(width: 4, depth: depth), generator: &generator)
        // Train-mode passes move the batch-norm statistics away from their defaults.
        _ = model(Tensor.normal([2, 1, 32, 32], using: &generator))
        model.eval()
        return model
    }

    @Test("predicting an image that fits one tile equals the model's forward pass")
    func singleTileEqualsForward() {
        let model = Self.smallModel()
        let sample = SyntheticShapes.generate(count: 1, size: 48, seed: 5).samples[0]
        let predicted = Predictor(model: model, tileSize: 64, overlap: 16).logits(for: sample.image)
        #expect(predicted == model.logits(sample.image.reshaped([1, 1, 48, 48])).reshaped([1, 48, 48]))
    }

    @Test("tiled prediction equals whole-image prediction when the overlap covers the receptive field")
    func tilingEquivalence() {
        let model = Self.smallModel()
        let receptiveField = ModelSummary(configuration: model.configuration, inputSize: 64).receptiveField
        let overlap = (2 * receptiveField + 3) / 4 * 4
        var generator = RandomGenerator(seed: 6)
        let image = Tensor.uniform([1, 300, 262], using: &generator)
        let whole = Predictor(model: model, tileSize: 512, overlap: 0).logits(for: image)
        let tiled = Predictor(model: model, tileSize: overlap + 40, overlap: overlap).logits(for: image)
        #expect(tiled.shape == [1, 300, 262])
        #expect(tiled.maximumAbsoluteDifference(to: whole) < 1e-4, "receptive field \(receptiveField), overlap \(overlap)")
    }

    @Test("Gaussian sliding windows are full-sized, on the pooling grid, cover the image, and weight centres most")
    func gaussianWindows() {
        let windows = Predictor.fullWindows(length: 300, tile: 128, step: 64, multiple: 4)
        #expect(windows.map(\.start) == [0, 64, 128, 172] && windows.map(\.length) == [128, 128, 128, 128])
        #expect(windows.allSatisfy { $0.start % 4 == 0 } && windows.last!.start + windows.last!.length == 300)
        let uneven = Predictor.fullWindows(length: 301, tile: 128, step: 64, multiple: 4).last!
        #expect(uneven.start == 172 && uneven.length == 129)
        #expect(Predictor.fullWindows(length: 100, tile: 128, step: 64, multiple: 4).map(\.length) == [100])
        let weights = Predictor.gaussian(length: 128, standardDeviation: 16)
        #expect(weights[63] == weights[64] && weights[63] > 0.99 && weights[0] < 1e-3 && weights[0] > 0)
        // On a real model the blend stays close to the whole-image prediction.
        let model = Self.smallModel()
        var generator = RandomGenerator(seed: 8)
        let image = Tensor.uniform([1, 200, 136], using: &generator)
        let whole = Predictor(model: model, tileSize: 512, overlap: 0).logits(for: image)
        let blended = Predictor(model: model, tileSize: 64, overlap: 32, blending: .gaussian).logits(for: image)
        #expect(blended.shape == [1, 200, 136] && blended.scalars.allSatisfy(\.isFinite))
        let difference = blended.maximumAbsoluteDifference(to: whole)
        #expect(difference > 1e-6 && difference < 0.5 * whole.map(abs).max().scalar, "difference \(difference)")
    }

    @Test("test-time augmentation turns each prediction back: the result turns with the image")
    func testTimeAugmentation() {
        var generator = RandomGenerator(seed: 9)
        let image = Tensor.uniform([2, 12, 20], using: &generator)
        for symmetry in SquareSymmetry.allCases {
            let oriented = symmetry.apply(to: image)
            #expect(oriented.shape == (symmetry.turns % 2 == 0 ? [2, 12, 20] : [2, 20, 12]))
            #expect(symmetry.inverse.apply(to: oriented) == image)
            var composed = symmetry.flip ? SquareSymmetry(flip: true, turns: 0).apply(to: image) : image
            for _ in 0..<symmetry.turns { composed = SquareSymmetry(flip: false, turns: 1).apply(to: composed) }
            #expect(oriented == composed, "\(symmetry)")
            #expect(symmetry == SquareSymmetry(flip: false, turns: 0) || oriented != image.reshaped(oriented.shape))
        }
        // A quarter turn counter-clockwise brings the top-right pixel to the top left; a flip the top left.
        #expect(SquareSymmetry(flip: false, turns: 1).apply(to: image).scalars[0] == image.scalars[19])
        #expect(SquareSymmetry(flip: true, turns: 0).apply(to: image).scalars[0] == image.scalars[19])
        #expect(Set(SquareSymmetry.allCases.map { $0.apply(to: image).scalars }).count == 8)
        let model = Self.smallModel()
        let predictor = Predictor(model: model, tileSize: 64, overlap: 0, testTimeAugmentation: true)
        let picture = Tensor.uniform([1, 32, 48], using: &generator)
        let symmetry = SquareSymmetry(flip: true, turns: 1)
        let direct = predictor.logits(for: picture)
        let viaTurned = symmetry.inverse.apply(to: predictor.logits(for: symmetry.apply(to: picture)))
        #expect(direct.maximumAbsoluteDifference(to: viaTurned) < 1e-3)
        let plain = Predictor(model: model, tileSize: 64, overlap: 0).logits(for: picture)
        #expect(direct.maximumAbsoluteDifference(to: plain) > 1e-4)
    }

    @Test("the .npy file has NumPy's header and the raw float32 data")
    func numpyFile() {
        let tensor = Tensor.arange(6).reshaped([1, 2, 3])
        let data = NumPyFile.encode(tensor)
        #expect(Array(data.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }"))
        #expect((10 + headerLength) % 64 == 0 && header.hasSuffix("\n"))
        #expect(data.count == 10 + headerLength + 6 * 4)
        let values = data.suffix(24).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(values == [0, 1, 2, 3, 4, 5])
    }

    @Test("receptive fields of a two-level U-Net equal the hand-computed chain")
    func receptiveFields() {
        let summary = ModelSummary(configuration: UNetConfiguration(width: 4, depth: 2), inputSize: 32)
        // conv 3×3 adds 2·jump, pooling adds 1·jump and doubles it, a 2×2 stride-2
        // up-convolution reads one pixel and halves it.
        #expect(summary.layers.map(\.receptiveField) == [3, 5, 6, 10, 14, 16, 24, 32, 32, 36, 40, 40, 42, 44, 44])
        #expect(summary.layers.map(\.name).first == "inc.double_conv.0")
        #expect(summary.layers.last?.outputShape == [1, 32, 32])
    }

    @Test("summary parameters equal the model's, and dense equivalents dwarf the filters")
    func parameterCounts() {
        for bilinear in [false, true] {
            var generator = RandomGenerator(seed: 1)
            let configuration = UNetConfiguration(width: 8, depth: 3, bilinear: bilinear)
            let model = UNet(configuration, generator: &generator)
            let summary = ModelSummary(configuration: configuration, inputSize: 64)
            #expect(summary.totalParameters == model.trainableParameterCount)
        }
        let first = ModelSummary(configuration: UNetConfiguration(width: 16, depth: 4), inputSize: 256).layers[0]
        #expect(first.parameters == 16 * 9)
        #expect(first.denseEquivalentParameters == 256 * 256 * (16 * 256 * 256) + 16 * 256 * 256)
    }
}
