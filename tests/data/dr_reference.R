# Reference numbers of R's dr package for tests/test_sdr_reference.py.
#
# Regenerate (R with the dr package installed):
#   python tests/data/dr_reference_inputs.py /tmp/dr_inputs
#   Rscript tests/data/dr_reference.R /tmp/dr_inputs > tests/data/dr_reference.csv
#
# Output: one number a line, "dataset,method,quantity,row,col,value" (row, col from 0):
# slice sizes, eigenvalues, directions (evectors; row = coordinate, col = direction) and the
# columns of dr.test (the "Large-sample marginal dimension tests", min(4, p) rows).
suppressPackageStartupMessages(library(dr))
args <- commandArgs(trailingOnly = TRUE)
emit <- function(dataset, method, quantity, values) {
  values <- as.matrix(values)
  for (i in seq_len(nrow(values))) for (j in seq_len(ncol(values)))
    cat(sprintf("%s,%s,%s,%d,%d,%.17g\n", dataset, method, quantity, i - 1, j - 1,
                values[i, j]))
}
fits <- list(
  diabetes = c("sir", "save", "phd", "phdy"),
  iris_width = c("sir", "save", "phd", "phdy"),
  iris_species = c("sir", "save")
)
cat("dataset,method,quantity,row,col,value\n")
cat(sprintf("version,dr,%s,0,0,0\n", as.character(packageVersion("dr"))))
for (dataset in names(fits)) {
  data <- read.csv(file.path(args[1], paste0(dataset, ".csv")))
  x <- as.matrix(data[, -1])
  for (method in fits[[dataset]]) {
    fit <- dr.compute(x, data$y, weights = rep(1, nrow(x)), method = method)
    if (!is.null(fit$slice.info)) emit(dataset, method, "slice_sizes", fit$slice.info$slice.sizes)
    emit(dataset, method, "eigenvalues", fit$evalues)
    emit(dataset, method, "directions", fit$evectors)
    tests <- dr.test(fit, numdir = min(4, ncol(x)))
    for (k in seq_along(tests)) emit(dataset, method, names(tests)[k], tests[[k]])
  }
}
