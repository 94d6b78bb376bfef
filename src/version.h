/* version.h: the one place the version is written. */
#ifndef TEND_VERSION_H
#define TEND_VERSION_H
#define TEND_VERSION "0.1.0"
#define TEND_API_VERSION 1
#endif
