# Marks the folder as a package so setuptools' package-data ships the console files in a
# non-editable install (the Docker image). No Python code lives here.
