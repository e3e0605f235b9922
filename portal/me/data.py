"""`/me`'s green mile and "my data" (download everything, delete the profile)."""
