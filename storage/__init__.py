"""The records Triage keeps and the database they live in; imports nothing of ours."""
