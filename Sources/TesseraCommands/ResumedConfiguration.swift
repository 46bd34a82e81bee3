import Foundation
import TesseraSegmentation

/// The configuration a resumed run continues with: the run's own (`config.json`), with
/// the options given on the command line that may change (the run's length, validation
/// cadence, threads) applied and reported; any other option that differs is refused,
/// naming both values. An option counts as given when it differs from its default.
enum ResumedConfiguration {
    /// Options that may change on resume.
    private static let changeable: Set<String> = ["epochs", "steps", "timeLimitMinutes", "validationInterval", "threads"]
    /// Command-line names of the fields whose name is not the option's in kebab case.
    private static let optionNames = [
        "dataPath": "--data", "validationPath": "--val", "imageStackPath": "--images", "maskStackPath": "--masks",
        "validationImageStackPath": "--val-images", "validationMaskStackPath": "--val-masks", "validationInterval": "--val-every",
        "timeLimitMinutes": "--time-limit", "learningRate": "--lr", "initPath": "--init-from", "augment": "--no-augment",
        "shuffle": "--no-shuffle", "validationFraction": "--val-fraction",
    ]

    static func merge(
        stored: TrainingConfiguration, given: TrainingConfiguration, defaults: TrainingConfiguration
    ) throws -> TrainingConfiguration {
        let values = { (configuration: TrainingConfiguration) in
            Dictionary(uniqueKeysWithValues: Mirror(reflecting: configuration).children.map { ($0.label!, describe($0.value)) })
        }
        let (storedValues, givenValues, defaultValues) = (values(stored), values(given), values(defaults))
        var merged = stored, applied: [String] = [], changed = Set<String>()
        for (field, value) in givenValues.sorted(by: { $0.key < $1.key }) where field != "outputPath" {
            guard value != defaultValues[field], value != storedValues[field] else { continue }
            let option = optionNames[field] ?? "--" + kebab(field)
            guard changeable.contains(field) else {
                throw TrainingError("\(option) \(value) differs from the run's \(storedValues[field] ?? "none"), and it cannot change on --resume (start a new run with --overwrite or another --out)")
            }
            applied.append("\(option) \(value) (was \(storedValues[field] ?? "none"))")
            changed.insert(field)
        }
        if changed.contains("epochs") { merged.epochs = given.epochs }
        if changed.contains("steps") { merged.steps = given.steps }
        if changed.contains("timeLimitMinutes") { merged.timeLimitMinutes = given.timeLimitMinutes }
        if changed.contains("validationInterval") { merged.validationInterval = given.validationInterval }
        if changed.contains("threads") { merged.threads = given.threads }
        if !applied.isEmpty { print("resuming with " + applied.joined(separator: ", ")) }
        return merged
    }

    private static func describe(_ value: Any) -> String {
        let text = String(describing: value)
        if text.hasPrefix("Optional(") { return String(text.dropFirst(9).dropLast()) }
        return text == "nil" ? "none" : text
    }

    private static func kebab(_ name: String) -> String {
        name.reduce(into: "") { result, character in
            if character.isUppercase { result += "-" + character.lowercased() } else { result.append(character) }
        }
    }
}
