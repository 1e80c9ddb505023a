"""One module per provider, each a `base.Provider`; SDKs are imported only when the provider is used."""
