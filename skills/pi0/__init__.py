"""pi0 through FlagScale's serving protocol: a client skill and a reference server (see skills.pi0.protocol)."""
