#ifndef TETHER_CLIBUV_SHIM_H
#define TETHER_CLIBUV_SHIM_H
#include <uv.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <malloc.h>
#include <linux/sockios.h>
#include <errno.h>

/* Bytes in a socket's send queue not yet acknowledged by the peer (ioctl is variadic: not callable from Swift). */
static inline int tether_unsent_bytes(int fd) {
    int value = 0;
    return ioctl(fd, SIOCOUTQ, &value) == 0 ? value : -1;
}

/* A socket's descriptor, from the poll handle watching it (no system call). */
static inline int tether_poll_fd(const uv_poll_t* poll) {
    return poll->io_watcher.fd;
}

/* Writes with send/sendmsg, not write/writev: on a socket, write(2) also runs the VFS layer's
   hooks (fsnotify), about 3 % of a paced message's server CPU (perf). Bytes taken, UV_EAGAIN when
   the kernel takes none, or an error. */
static inline int tether_send(int fd, const uv_buf_t* bufs, unsigned int nbufs) {
    if (fd < 0) return UV_EBADF;
    ssize_t sent;
    do {
        if (nbufs == 1) {
            sent = send(fd, bufs[0].base, bufs[0].len, MSG_NOSIGNAL);
        } else {
            struct msghdr message = {0};
            message.msg_iov = (struct iovec*)bufs;   /* uv_buf_t is laid out as struct iovec on Unix */
            message.msg_iovlen = nbufs;
            sent = sendmsg(fd, &message, MSG_NOSIGNAL);
        }
    } while (sent == -1 && errno == EINTR);
    if (sent >= 0) return (int)sent;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return UV_EAGAIN;
    return -errno;
}

/* recv(2), for the read path (see TCPConnection: libuv polls, we read): like send above, it skips
   the VFS hooks read(2) runs. Bytes read, 0 at EOF, UV_EAGAIN, or an error. */
static inline long tether_recv(int fd, void* buffer, size_t length) {
    ssize_t received;
    do {
        received = recv(fd, buffer, length, 0);
    } while (received == -1 && errno == EINTR);
    if (received >= 0) return (long)received;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return UV_EAGAIN;
    return -errno;
}

/* A socket's pending error (SO_ERROR, which reading clears), as a libuv code; 0 if none. */
static inline int tether_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return -errno;
    return -error;
}

#ifndef __USE_GNU
/* In libc, but declared only under _GNU_SOURCE, which would change other structs' definitions
   against Swift's Glibc module. */
extern int accept4(int fd, struct sockaddr* address, socklen_t* length, int flags);
#endif

/* accept4 with the peer's address (no getpeername later): the new descriptor, or -errno. */
static inline int tether_accept(int fd, struct sockaddr_storage* address) {
    int accepted;
    do {
        socklen_t length = sizeof(*address);
        accepted = accept4(fd, (struct sockaddr*)address, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (accepted == -1 && errno == EINTR);
    return accepted >= 0 ? accepted : -errno;
}
#endif
