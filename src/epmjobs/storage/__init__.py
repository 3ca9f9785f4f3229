"""Persistence behind named operations: SQLite embedded, PostgreSQL scaled out."""
