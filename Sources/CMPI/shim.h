// Open MPI's C API (Debian's libopenmpi-dev). Its handles and constants (MPI_COMM_WORLD,
// MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, …) are macros over the addresses of library globals,
// which Swift cannot import: the functions below return them.
#include <mpi.h>

static inline MPI_Comm tessera_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype tessera_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype tessera_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype tessera_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype tessera_mpi_long_long(void) { return MPI_LONG_LONG; }
static inline MPI_Op tessera_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op tessera_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op tessera_mpi_min(void) { return MPI_MIN; }
static inline void *tessera_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler tessera_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
