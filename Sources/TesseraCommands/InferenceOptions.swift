import ArgumentParser
import TesseraSegmentation

extension Predictor.Blending: ExpressibleByArgument {}

/// How `predict` and `evaluate` run a model over an image: tiles, their blending and
/// test-time augmentation.
struct InferenceOptions: ParsableArguments {
    @Option(help: "Tile side in pixels (rounded down to a multiple of 2^depth); larger images run in overlapping tiles.")
    var tile = 512
    @Option(help: "Overlap between tiles in pixels (rounded down to a multiple of 2^depth).")
    var overlap = 128
    @Option(help: "How overlapping tiles combine: ramp (exact for overlaps over twice the receptive field), or gaussian (nnU-Net's sliding windows weighted towards their centres; e.g. --tile 256 --overlap 128).")
    var blend = Predictor.Blending.ramp
    @Flag(help: "Test-time augmentation: average the predictions of the 8 flips and quarter turns (8× the time).")
    var tta = false

    func validate() throws {
        guard tile >= 16 else { throw ValidationError("--tile must be at least 16, got \(tile)") }
        guard overlap >= 0 && overlap < tile else { throw ValidationError("--overlap must be in 0..<\(tile), got \(overlap)") }
    }

    /// The predictor these options describe for `model`.
    func predictor(for model: UNet) -> Predictor {
        let multiple = model.configuration.sizeMultiple
        return Predictor(
            model: model, tileSize: max(multiple, tile / multiple * multiple), overlap: overlap / multiple * multiple, blending: blend,
            testTimeAugmentation: tta)
    }
}
