"""The built-in classifiers, one module each, named after the classifier it registers.

Nothing is imported here: the registry imports the modules listed in :mod:`nlp.catalog`.
"""
