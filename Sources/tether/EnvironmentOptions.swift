import ArgumentParser

/// Reads TETHER_<NAME> variables; a value that does not parse stops the start with one clear line.
struct EnvironmentOptions {
    let values: [String: String]

    init(_ environment: [String: String]) { values = environment }

    func string(_ name: String) -> String? { values["TETHER_" + name] }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError("TETHER_\(name)=\(text) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func bool(_ name: String) throws -> Bool? {
        guard let text = string(name)?.lowercased() else { return nil }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ValidationError("TETHER_\(name)=\(text) is not true or false")
        }
    }
}

extension EnvironmentOptions {
    func double(_ name: String) throws -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw ValidationError("TETHER_\(name)=\(text) is not a number")
        }
        return value
    }
}
