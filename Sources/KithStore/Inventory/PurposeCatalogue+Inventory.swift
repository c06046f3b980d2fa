import KithCore

extension PurposeCatalogue {
    /// The catalogue whose current notice lists, for each purpose, the categories of personal
    /// information the inventory declares for it: the served record of processing activities and the
    /// notice derive from the inventory, so a new column's category reaches them by itself (ACC-01,
    /// SEC-07, GEN-02).
    ///
    /// Earlier notice versions are left as they were published. A purpose the inventory names no column
    /// for (a test's extra purpose) keeps the categories its notice wrote.
    public func describing(_ inventory: DataInventory) -> PurposeCatalogue {
        var notices = self.notices
        let last = notices.count - 1
        notices[last].purposes = notices[last].purposes.map { purpose in
            var described = purpose
            let categories = inventory.categories(for: purpose.id)
            if !categories.isEmpty { described.dataCategories = categories.map(\.rawValue) }
            return described
        }
        return PurposeCatalogue(notices: notices)
    }
}
