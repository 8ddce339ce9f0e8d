"""The built-in demo (teacher, student, distilled student on the generated
dataset, with a report) and the miniature reproduction of the paper's
ablations."""
