"""The application: the pipeline steps (:mod:`services.pipeline`) and the services that the
CLI, the DAGs and the web API call (queues, search, feedback, reports, training). Business
rules live here once; entry points parse input and print."""
