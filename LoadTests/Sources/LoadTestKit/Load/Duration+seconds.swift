extension Duration {
    /// In seconds, as a Double, for rates and for printing.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
