"""The built-in tasks, each a module in the task-file form (see ``microattn.data.task`` and ``task_file``)."""
