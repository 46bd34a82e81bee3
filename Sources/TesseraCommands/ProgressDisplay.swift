import Foundation
import TesseraSegmentation

/// Shows training progress: a redrawn bar on a terminal, one plain line per epoch otherwise.
final class ProgressDisplay {
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lastDraw = 0.0
    private var shownMachine: String?

    func handle(_ event: TrainingEvent) {
        switch event {
        case let .started(line):
            // --auto shows the machine before its plan; the trainer's line would repeat it.
            guard line != shownMachine else { return }
            shownMachine = line
            print(line)
        case let .step(progress):
            guard isTerminal else { return }
            let now = Date().timeIntervalSince1970
            guard now - lastDraw > 0.1 || progress.stepInEpoch == progress.stepsPerEpoch else { return }
            lastDraw = now
            let fraction = Double(progress.stepInEpoch) / Double(max(progress.stepsPerEpoch, 1))
            let filled = Int(fraction * 24)
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 24 - filled)
            let line = String(
                format: "epoch %ld %@ %ld/%ld  loss %.4f  Dice %.3f  %.1f img/s  ETA %@",
                progress.epoch, bar, progress.stepInEpoch, progress.stepsPerEpoch, progress.loss, progress.dice,
                progress.imagesPerSecond, Self.duration(progress.secondsRemaining))
            print("\r\(line)\u{1B}[K", terminator: "")
            fflush(nil)
        case let .epochFinished(record):
            if isTerminal { print("\r\u{1B}[K", terminator: "") }
            print(String(
                format: "epoch %ld  step %ld  %@  train loss %.4f  val loss %.4f  val Dice %.4f  IoU %.4f  accuracy %.4f",
                record.epoch, record.step, Self.duration(record.seconds), record.trainLoss, record.validationLoss,
                record.validationDice, record.validationIoU, record.validationAccuracy))
            fflush(nil)
        }
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        return total >= 3600 ? String(format: "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60)
            : String(format: "%ld:%02ld", total / 60, total % 60)
    }
}
