/* version.h -- the one place the version is written. */
#ifndef PYCORR_VERSION_H
#define PYCORR_VERSION_H
#define PYCORR_VERSION "0.1.0"
#endif
