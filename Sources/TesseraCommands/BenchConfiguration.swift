import ArgumentParser
import TesseraSegmentation

/// The standard benchmark configurations of the U-Net (1 input channel, 1 class).
enum BenchConfiguration: String, CaseIterable, ExpressibleByArgument {
    case i, ii, iii

    /// (width, depth, input side, batch)
    var shape: (width: Int, depth: Int, size: Int, batch: Int) {
        switch self {
        case .i: (16, 4, 128, 4)
        case .ii: (32, 4, 256, 2)
        case .iii: (64, 4, 256, 1)
        }
    }

    var model: UNetConfiguration { UNetConfiguration(width: shape.width, depth: shape.depth) }

    var label: String { "\(rawValue): w\(shape.width) d\(shape.depth) \(shape.batch)×1×\(shape.size)²" }

    /// Floating-point operations of one training step: forward, input gradient and weight
    /// gradient each cost the forward pass's multiply-accumulates, two FLOPs each.
    var trainingFlops: Double {
        Double(ModelSummary(configuration: model, inputSize: shape.size).multiplyAccumulates) * Double(shape.batch) * 2 * 3
    }
}
