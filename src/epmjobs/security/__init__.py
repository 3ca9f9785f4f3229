"""Who the caller is (authentication) and what its role lets it do (authorization)."""
