"""The Keras API (see DESIGN.md, "Frontend")."""
