extension QRCode {
    /// An SVG drawing of the symbol with a light `quietZone` (in modules) around it. One path of
    /// horizontal runs keeps it small, and the same code always gives the same bytes.
    public func svg(quietZone: Int = 4) -> [UInt8] {
        let side = size + 2 * quietZone
        var path = ""
        for row in 0..<size {
            var column = 0
            while column < size {
                guard isDark(row: row, column: column) else { column += 1; continue }
                let start = column
                while column < size, isDark(row: row, column: column) { column += 1 }
                path += "M\(start + quietZone) \(row + quietZone)h\(column - start)v1h-\(column - start)z"
            }
        }
        let text = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(side) \(side)" shape-rendering="crispEdges">\
            <rect width="\(side)" height="\(side)" fill="#fff"/>\
            <path fill="#000" d="\(path)"/></svg>

            """
        return Array(text.utf8)
    }
}
